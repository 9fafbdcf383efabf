/**
 * Russian and English; the operator picks one in the header and it is kept in localStorage. The first visit
 * follows the browser's language. Every string the console shows comes from here, so a missing translation is
 * a type error, not an English word in a Russian screen.
 */
const en = {
  appName: 'Console',
  signIn: 'Sign in',
  signingIn: 'Signing in…',
  login: 'Login',
  password: 'Password',
  signOut: 'Sign out',
  wrongPassword: 'Wrong login or password',
  tooManyAttempts: 'Too many attempts; try again in {s} s',
  changePassword: 'Change password',
  currentPassword: 'Current password',
  newPassword: 'New password (8 or more characters)',
  passwordChanged: 'Password changed; your other sessions were signed out',
  save: 'Save',
  cancel: 'Cancel',
  myWork: 'My work',
  overdue: 'Overdue',
  dueToday: 'Due today',
  withoutPlanned: 'Nothing planned',
  nothingToDo: 'Nothing waiting. New contacts appear here as they arrive.',
  waiting: 'waiting {t}',
  unassigned: 'queue',
  kind_conversation: 'Chat',
  kind_lead: 'New lead',
  kind_email: 'Email',
  kind_missed_call: 'Missed call',
  kind_callback: 'Callback',
  kind_other: 'Task',
  online: 'Online',
  away: 'Away',
  offline: 'Offline',
  presence: 'Presence',
  live: 'live',
  reconnecting: 'reconnecting…',
  language: 'Language',
  selectSomething: 'Choose something from your work list, or wait for a call.',
  notFound: 'Not found, or not yours to see.',
  loading: 'Loading…',
  identities: 'Identities',
  region: 'Region',
  responsible: 'Responsible',
  nobody: 'nobody',
  source: 'Source',
  status: 'Status',
  duplicates: 'Possible duplicates',
  timeline: 'Timeline',
  emptyTimeline: 'No history yet.',
  newCaller: 'New caller',
  ringing: 'Incoming call',
  callerCard: 'Card of the caller',
  unknownRegion: 'region unknown',
  conversation: 'Conversation',
  conversationClosed: 'closed',
  reply: 'Reply',
  note: 'Internal note',
  email: 'Email reply',
  send: 'Send',
  sending: 'Sending…',
  addNote: 'Add note',
  noteHint: 'Seen only in the CRM, never sent to the client',
  cannedAnswers: 'Canned answers',
  typeMessage: 'Message to the client',
  typeNote: 'Note for colleagues',
  typeEmail: 'Email text',
  subject: 'Subject',
  close: 'Close conversation',
  take: 'Take',
  transfer: 'Transfer',
  transferTo: 'Transfer to',
  complete: 'Complete',
  result: 'Result',
  reschedule: 'Reschedule',
  leadStatus: 'Lead status',
  status_new: 'New',
  status_in_progress: 'In progress',
  status_junk: 'Junk',
  status_converted: 'Converted',
  status_merged: 'Merged',
  junkReason: 'Why is it junk?',
  msg_pending: 'queued',
  msg_sending: 'sending',
  msg_sent: 'sent',
  msg_retrying: 'retrying',
  msg_delivered: 'delivered',
  msg_read: 'read',
  msg_failed: 'failed',
  typing: 'typing…',
  shortcuts: 'Keyboard shortcuts',
  sc_work: 'Alt+W  work list',
  sc_reply: 'Alt+R  reply',
  sc_note: 'Alt+N  internal note',
  sc_take: 'Alt+T  take',
  sc_close: 'Alt+C  close conversation',
  sc_presence: 'Alt+P  presence',
  sc_send: 'Ctrl+Enter  send',
  sc_help: '?  this help',
  error: 'Error',
  done: 'Done',
  planned: 'planned',
  due: 'due {t}',
  dismiss: 'Dismiss',
} as const;

export type Key = keyof typeof en;

const ru: Record<Key, string> = {
  appName: 'Консоль',
  signIn: 'Войти',
  signingIn: 'Вход…',
  login: 'Логин',
  password: 'Пароль',
  signOut: 'Выйти',
  wrongPassword: 'Неверный логин или пароль',
  tooManyAttempts: 'Слишком много попыток; повторите через {s} с',
  changePassword: 'Сменить пароль',
  currentPassword: 'Текущий пароль',
  newPassword: 'Новый пароль (не короче 8 символов)',
  passwordChanged: 'Пароль изменён; другие ваши сеансы завершены',
  save: 'Сохранить',
  cancel: 'Отмена',
  myWork: 'Мои дела',
  overdue: 'Просрочено',
  dueToday: 'На сегодня',
  withoutPlanned: 'Без дел',
  nothingToDo: 'Ничего не ждёт. Новые обращения появятся здесь сразу.',
  waiting: 'ждёт {t}',
  unassigned: 'очередь',
  kind_conversation: 'Чат',
  kind_lead: 'Новый лид',
  kind_email: 'Письмо',
  kind_missed_call: 'Пропущенный',
  kind_callback: 'Перезвонить',
  kind_other: 'Дело',
  online: 'На связи',
  away: 'Отошёл',
  offline: 'Не в сети',
  presence: 'Статус',
  live: 'онлайн',
  reconnecting: 'переподключение…',
  language: 'Язык',
  selectSomething: 'Выберите обращение в списке дел или дождитесь звонка.',
  notFound: 'Не найдено или недоступно вам.',
  loading: 'Загрузка…',
  identities: 'Контакты',
  region: 'Регион',
  responsible: 'Ответственный',
  nobody: 'нет',
  source: 'Источник',
  status: 'Статус',
  duplicates: 'Возможные дубли',
  timeline: 'История',
  emptyTimeline: 'Истории пока нет.',
  newCaller: 'Новый клиент',
  ringing: 'Входящий звонок',
  callerCard: 'Карточка звонящего',
  unknownRegion: 'регион не определён',
  conversation: 'Диалог',
  conversationClosed: 'закрыт',
  reply: 'Ответ',
  note: 'Заметка',
  email: 'Ответ письмом',
  send: 'Отправить',
  sending: 'Отправка…',
  addNote: 'Добавить заметку',
  noteHint: 'Видна только в CRM, клиенту не отправляется',
  cannedAnswers: 'Шаблоны ответов',
  typeMessage: 'Сообщение клиенту',
  typeNote: 'Заметка для коллег',
  typeEmail: 'Текст письма',
  subject: 'Тема',
  close: 'Закрыть диалог',
  take: 'Взять',
  transfer: 'Передать',
  transferTo: 'Передать сотруднику',
  complete: 'Выполнить',
  result: 'Результат',
  reschedule: 'Перенести',
  leadStatus: 'Статус лида',
  status_new: 'Новый',
  status_in_progress: 'В работе',
  status_junk: 'Некачественный',
  status_converted: 'Сконвертирован',
  status_merged: 'Объединён',
  junkReason: 'Почему некачественный?',
  msg_pending: 'в очереди',
  msg_sending: 'отправляется',
  msg_sent: 'отправлено',
  msg_retrying: 'повтор',
  msg_delivered: 'доставлено',
  msg_read: 'прочитано',
  msg_failed: 'не доставлено',
  typing: 'печатает…',
  shortcuts: 'Горячие клавиши',
  sc_work: 'Alt+W  список дел',
  sc_reply: 'Alt+R  ответ',
  sc_note: 'Alt+N  заметка',
  sc_take: 'Alt+T  взять',
  sc_close: 'Alt+C  закрыть диалог',
  sc_presence: 'Alt+P  статус',
  sc_send: 'Ctrl+Enter  отправить',
  sc_help: '?  эта справка',
  error: 'Ошибка',
  done: 'Готово',
  planned: 'запланировано',
  due: 'срок {t}',
  dismiss: 'Скрыть',
};

export type Lang = 'en' | 'ru';
const STORE = 'console.lang';
const DICTS: Record<Lang, Record<Key, string>> = { en, ru };

export function initialLang(): Lang {
  const saved = localStorage.getItem(STORE);
  if (saved === 'en' || saved === 'ru') return saved;
  return navigator.language.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

export function saveLang(lang: Lang): void {
  localStorage.setItem(STORE, lang);
  document.documentElement.lang = lang;
}

export type T = (key: Key, vars?: Record<string, string | number>) => string;

export const translator =
  (lang: Lang): T =>
  (key, vars) => {
    let s = DICTS[lang][key];
    for (const [k, v] of Object.entries(vars ?? {})) s = s.replace(`{${k}}`, String(v));
    return s;
  };

/** "5 min", "2 h 10 min", "3 d" in the chosen language. */
export function duration(ms: number, lang: Lang): string {
  const min = Math.max(0, Math.floor(ms / 60_000));
  const [m, h, d] = lang === 'ru' ? ['мин', 'ч', 'д'] : ['min', 'h', 'd'];
  if (min < 60) return `${min} ${m}`;
  if (min < 24 * 60) return `${Math.floor(min / 60)} ${h}${min % 60 ? ` ${min % 60} ${m}` : ''}`;
  return `${Math.floor(min / 1440)} ${d}`;
}

export const dateTime = (iso: string, lang: Lang): string =>
  new Date(iso).toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-GB', {
    day: '2-digit',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
