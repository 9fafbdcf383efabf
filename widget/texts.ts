import type { WidgetTexts } from '../channels/widgets.js';

/** What the widget says when the administrator set nothing (per widget: /v1/admin/widgets texts). */
export type Texts = Required<WidgetTexts> & {
  send: string;
  name: string;
  phone: string;
  email: string;
  start: string;
  required: string;
  contactNeeded: string;
  typing: string;
  close: string;
  open: string;
};

export const DEFAULT_TEXTS: Record<'ru' | 'en', Texts> = {
  ru: {
    title: 'Чат с нами',
    greeting: 'Здравствуйте! Чем можем помочь?',
    offline: 'Сейчас никого нет на связи. Оставьте сообщение и контакт — мы ответим.',
    placeholder: 'Напишите сообщение…',
    preChatIntro: 'Представьтесь, пожалуйста:',
    send: 'Отправить',
    name: 'Имя',
    phone: 'Телефон',
    email: 'Email',
    start: 'Начать чат',
    required: 'Заполните поле',
    contactNeeded: 'Оставьте телефон или email',
    typing: 'Оператор печатает…',
    close: 'Закрыть чат',
    open: 'Открыть чат',
  },
  en: {
    title: 'Chat with us',
    greeting: 'Hello! How can we help?',
    offline: 'Nobody is online right now. Leave a message and your contact and we will get back to you.',
    placeholder: 'Type a message…',
    preChatIntro: 'Please introduce yourself:',
    send: 'Send',
    name: 'Name',
    phone: 'Phone',
    email: 'Email',
    start: 'Start chat',
    required: 'Please fill this in',
    contactNeeded: 'Leave a phone or an email',
    typing: 'The operator is typing…',
    close: 'Close chat',
    open: 'Open chat',
  },
};
