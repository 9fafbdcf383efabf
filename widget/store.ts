/**
 * The visitor's state in this site's localStorage, per widget: the visitor token (one identity across pages and
 * visits), messages sent but not yet acknowledged (resent after a reconnect or a reload, with the same clientId),
 * and whether the contact form was filled. A browser without storage (private mode, blocked) still chats, as a
 * new visitor on each page.
 */
export interface Pending {
  clientId: string;
  text: string;
  sentAt: string;
}

export function createStore(widgetKey: string) {
  const k = (name: string) => `crm-livechat:${widgetKey}:${name}`;
  const get = <T>(name: string, fallback: T): T => {
    try {
      const v = localStorage.getItem(k(name));
      return v == null ? fallback : (JSON.parse(v) as T);
    } catch {
      return fallback;
    }
  };
  const set = (name: string, value: unknown) => {
    try {
      localStorage.setItem(k(name), JSON.stringify(value));
    } catch {
      // Storage full or blocked: the chat works for this page.
    }
  };
  return {
    token: () => get<string | null>('token', null),
    setToken: (t: string) => set('token', t),
    pending: () => get<Pending[]>('pending', []),
    setPending: (p: Pending[]) => set('pending', p),
    contactGiven: () => get<boolean>('contact', false),
    setContactGiven: (given: boolean) => set('contact', given),
  };
}
