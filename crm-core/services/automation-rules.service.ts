import { MESSENGER_CHANNELS } from '../../event/inbound-contact.js';
import { AppError } from '../../lib/errors.js';
import type { Database, Queryable } from '../db/database.js';
import * as repo from '../repositories/automation-rule.repository.js';

/**
 * Automation rules an administrator configures (README "Automation"). The HTTP schema checks types; this file
 * checks what belongs to which kind, so a setting of another kind, or a missing one, is a 400 naming the field
 * and nothing is written. Three kinds:
 * - first_response_sla: an unanswered conversation (messenger channels), email or missed call (`phone`: its
 *   planned callback) of `channel` is overdue `minutes` after the client's first unanswered contact; `escalate`
 *   hands it to the next operator of the region (the region's assignment rules) or to the region's supervisor;
 * - offline_reassign: `graceMinutes` after an operator goes offline, their unanswered conversations (of
 *   `channels`, default every messenger channel) go to the next online operator of the client's region;
 * - condition: a routed inbound contact matching every given condition (any value of each list) gets a task or
 *   callback on its client, for the client's responsible, due `action.deadlineMinutes` later.
 */
export const RULE_KINDS = ['first_response_sla', 'offline_reassign', 'condition'] as const;
export const SLA_CHANNELS = ['phone', 'email', ...MESSENGER_CHANNELS] as const;
export const ESCALATIONS = ['none', 'next_operator', 'supervisor'] as const;
export const ACTION_TYPES = ['task', 'callback'] as const;

export type SlaChannel = (typeof SLA_CHANNELS)[number];
export type Escalation = (typeof ESCALATIONS)[number];
export type ConversationChannel = (typeof MESSENGER_CHANNELS)[number];

export interface SlaSettings {
  channel: SlaChannel;
  minutes: number;
  escalate: Escalation;
}
export interface OfflineSettings {
  graceMinutes: number;
  /** Empty: every messenger channel. */
  channels: ConversationChannel[];
}
export interface Conditions {
  channels?: string[];
  sourceKeys?: string[];
  regionIds?: number[];
  /** Matched case-insensitively anywhere in the message's subject and text. */
  keywords?: string[];
}
export interface ConditionSettings {
  conditions: Conditions;
  action: { type: (typeof ACTION_TYPES)[number]; subject: string; deadlineMinutes: number };
}

export type AutomationRule = {
  id: number;
  name: string;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
} & (
  | { kind: 'first_response_sla'; settings: SlaSettings }
  | { kind: 'offline_reassign'; settings: OfflineSettings }
  | { kind: 'condition'; settings: ConditionSettings }
);

/** A rule as the API takes it: common fields plus the kind's own, flat. */
export interface RuleInput {
  name?: string;
  kind?: repo.RuleKind;
  active?: boolean;
  channel?: string;
  minutes?: number;
  escalate?: string;
  graceMinutes?: number;
  channels?: string[];
  conditions?: Conditions;
  action?: Partial<ConditionSettings['action']>;
}

const OWN: Record<repo.RuleKind, (keyof RuleInput)[]> = {
  first_response_sla: ['channel', 'minutes', 'escalate'],
  offline_reassign: ['graceMinutes', 'channels'],
  condition: ['conditions', 'action'],
};
const COMMON: (keyof RuleInput)[] = ['name', 'kind', 'active'];

const invalid = (field: string, message: string) =>
  new AppError('VALIDATION', `${field}: ${message}`, { fields: [field] });

function required<T>(v: T | undefined, field: string, kind: string): T {
  if (v === undefined) throw invalid(field, `required for a ${kind} rule`);
  return v;
}

/** The kind's settings from a complete input; throws VALIDATION naming the first wrong field. */
export function validateRule(input: RuleInput): repo.RuleWrite {
  const kind = input.kind;
  if (!kind) throw invalid('kind', 'required');
  const name = input.name?.trim();
  if (!name) throw invalid('name', 'required');
  for (const k of Object.keys(input) as (keyof RuleInput)[]) {
    if (input[k] !== undefined && !COMMON.includes(k) && !OWN[kind].includes(k))
      throw invalid(k, `not a setting of a ${kind} rule`);
  }
  const base = { name, kind, active: input.active ?? true };
  if (kind === 'first_response_sla') {
    const channel = required(input.channel, 'channel', kind);
    if (!(SLA_CHANNELS as readonly string[]).includes(channel))
      throw invalid('channel', `must be one of ${SLA_CHANNELS.join(', ')}`);
    const settings: SlaSettings = {
      channel: channel as SlaChannel,
      minutes: required(input.minutes, 'minutes', kind),
      escalate: (input.escalate ?? 'none') as Escalation,
    };
    return { ...base, settings: { ...settings } };
  }
  if (kind === 'offline_reassign') {
    const settings: OfflineSettings = {
      graceMinutes: input.graceMinutes ?? 0,
      channels: (input.channels ?? []) as ConversationChannel[],
    };
    return { ...base, settings: { ...settings } };
  }
  const conditions = required(input.conditions, 'conditions', kind);
  const given = Object.entries(conditions).filter(([, v]) => v !== undefined);
  if (given.length === 0)
    throw invalid('conditions', 'give at least one of channels, sourceKeys, regionIds, keywords');
  for (const [k, v] of given)
    if (Array.isArray(v) && v.length === 0) throw invalid(`conditions.${k}`, 'must not be empty');
  for (const [i, w] of (conditions.keywords ?? []).entries())
    if (!w.trim()) throw invalid(`conditions.keywords.${i}`, 'must not be blank');
  const action = required(input.action, 'action', kind);
  const settings: ConditionSettings = {
    conditions: Object.fromEntries(given) as Conditions,
    action: {
      type: required(action.type, 'action.type', kind),
      subject: required(action.subject, 'action.subject', kind),
      deadlineMinutes: action.deadlineMinutes ?? 60,
    },
  };
  if (!settings.action.subject.trim()) throw invalid('action.subject', 'must not be blank');
  return { ...base, settings: { ...settings } };
}

export function toRule(r: repo.RuleRow): AutomationRule {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    active: r.active,
    settings: r.settings,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  } as unknown as AutomationRule;
}

const notFound = (id: number) =>
  new AppError('NOT_FOUND', `id: automation rule ${id} not found`, { fields: ['id'] });

export async function createRule(db: Database, input: RuleInput): Promise<AutomationRule> {
  return toRule(await repo.insertRule(db, validateRule(input)));
}

/** A change is merged over the stored rule and the whole is validated again; the kind cannot change. */
export async function changeRule(db: Database, id: number, change: RuleInput): Promise<AutomationRule> {
  return db.transaction(async (tx) => {
    const row = await repo.getRule(tx, id);
    if (!row) throw notFound(id);
    if (change.kind !== undefined && change.kind !== row.kind)
      throw invalid('kind', `cannot change (${row.kind}); delete the rule and create another`);
    const merged: RuleInput = {
      name: row.name,
      active: row.active,
      ...row.settings,
      ...change,
      kind: row.kind,
    };
    return toRule((await repo.updateRule(tx, id, validateRule(merged)))!);
  });
}

export async function getRule(db: Queryable, id: number): Promise<AutomationRule> {
  const row = await repo.getRule(db, id);
  if (!row) throw notFound(id);
  return toRule(row);
}

export async function listRules(db: Queryable, kind?: repo.RuleKind): Promise<AutomationRule[]> {
  return (await repo.listRules(db, { kind })).map(toRule);
}

export async function activeRules(db: Queryable): Promise<AutomationRule[]> {
  return (await repo.listRules(db, { activeOnly: true })).map(toRule);
}

export async function deleteRule(db: Queryable, id: number): Promise<void> {
  if (!(await repo.deleteRule(db, id))) throw notFound(id);
}
