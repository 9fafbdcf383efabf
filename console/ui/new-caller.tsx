import { useApp } from './context.js';

/** The `call.ringing` notice (README, "Operator console"). */
export interface Ringing {
  phone: string;
  line?: string;
  client: { entityType: 'lead' | 'contact' | 'company'; entityId: number; name?: string | null } | null;
  /** false: nobody knew this number before the call (the client may be the lead the call just made). */
  known?: boolean;
  regionId?: number | null;
  source?: string | null;
}

/** Screen pop for a number nobody knows yet: what the line and the number say about the caller. */
export function NewCaller({ call }: { call: Ringing }) {
  const { t, me } = useApp();
  // The routing predicts one of my own regions (it rings an operator of that region), so my list names it.
  const region =
    call.regionId != null
      ? (me.regions?.find((r) => r.id === call.regionId)?.name ?? `#${call.regionId}`)
      : null;
  return (
    <section class="panel caller" aria-labelledby="caller-title">
      <h2 id="caller-title">{t('newCaller')}</h2>
      <p class="phone">{call.phone}</p>
      <dl>
        <dt>{t('region')}</dt>
        <dd>{region ?? t('unknownRegion')}</dd>
        <dt>{t('source')}</dt>
        <dd>{call.source ?? call.line ?? '—'}</dd>
      </dl>
    </section>
  );
}
