/** The part of the configuration the HTTP server and the API use; the composition root hands over only this. */
export interface ApiConfig {
  /** Bearer token of the administrator (compared in constant time, never logged). */
  adminToken: string;
  /** Country for phone numbers written without a country code, in look-ups (ISO 3166 alpha-2). */
  defaultCountry: string;
  /** Take the client IP from X-Forwarded-For (only behind a proxy the operator controls). */
  trustProxy: boolean;
  /** Public base URL (PUBLIC_URL): the webhook URLs the admin API shows are built on it. */
  publicUrl?: string;
  /** Sliding lifetime of a browser session, in hours (SESSION_TTL_HOURS; 12 when absent). */
  sessionTtlHours?: number;
}
