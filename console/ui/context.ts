import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Lang, T } from './i18n.js';
import type { ConsoleSocket } from './socket.js';

/** Who is signed in, as GET /v1/me and POST /v1/session answer. */
export interface Me {
  operator: { id: number; name: string; login: string; status: string } | null;
  role: 'operator' | 'supervisor' | 'admin';
  regionIds: number[];
  regions?: { id: number; name: string }[];
  csrfToken?: string;
}

export interface Ctx {
  me: Me;
  t: T;
  lang: Lang;
  socket: ConsoleSocket;
  /** Shows a short message at the bottom (errors of actions, confirmations). */
  flash(text: string, kind?: 'ok' | 'error'): void;
}

export const AppContext = createContext<Ctx | null>(null);

export function useApp(): Ctx {
  const c = useContext(AppContext);
  if (!c) throw new Error('useApp outside the signed-in shell');
  return c;
}
