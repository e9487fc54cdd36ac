import { z } from 'zod';
import { dataDictionary } from '../standards/index.ts';

export const handlingModes = ['online', 'proxy', 'joint'] as const;
export const HandlingMode = z.enum(handlingModes);
export type HandlingMode = z.infer<typeof HandlingMode>;

export const TimeLimit = z
  .object({
    /** 即办件 decided on the spot, or 承诺件 with a promised limit. */
    kind: z.enum(['immediate', 'promised']),
    /** Limit set by law (e.g. 20 working days for a licence); null where none applies. */
    statutoryDays: z.number().int().min(0).max(365).nullable(),
    /** The place's public promise (承诺时限), never longer than the statutory limit. */
    committedDays: z.number().int().min(0).max(365),
    unit: z.enum(['working', 'calendar']),
  })
  .refine((t) => t.statutoryDays === null || t.committedDays <= t.statutoryDays, {
    message: 'the committed time limit cannot be longer than the statutory one',
    path: ['committedDays'],
  })
  .refine((t) => t.kind === 'promised' || t.committedDays === 0, {
    message: 'an immediate item has a committed time limit of 0',
    path: ['committedDays'],
  });
export type TimeLimit = z.infer<typeof TimeLimit>;

/** One material of an item's acceptance criteria. */
export const MaterialSpec = z.object({ name: z.string().min(1).max(100), kind: z.enum(['electronic', 'physical']), required: z.boolean() });

const NATIONAL_CODE = /^N\d{3}$/;
/** Local items: L, the owning region's division code, a dash and the region's own number. */
const LOCAL_CODE = /^L\d{6}-[0-9A-Z]{1,8}$/;

export const Item = z
  .object({
    code: z.string().refine((c) => NATIONAL_CODE.test(c) || LOCAL_CODE.test(c), {
      message: 'item codes are N### for the national list or L<division>-<local number> for local items',
    }),
    scope: z.enum(['national', 'local']),
    /** For local items: the division that added it. */
    ownerDivision: z.string().regex(/^\d{6}$/).optional(),
    name: z.string().trim().min(2).max(100),
    ministry: z.string().trim().min(1).max(50),
    audience: z.enum(['individual', 'enterprise']),
    deadline: z.iso.date().nullable(),
    deadlineNote: z.string().nullable().optional(),
    modes: z.array(HandlingMode).min(1),
    modeFixed: z.boolean(),
    dataElements: z
      .array(z.string())
      .min(1)
      .refine((ids) => ids.every((id) => dataDictionary.has(id)), { message: 'every data element must be in the data dictionary' }),
    timeLimit: TimeLimit,
    /** Acceptance criteria: the materials a counter checks before accepting (无差别受理). */
    materials: z.array(MaterialSpec).default([]),
    confirmed: z.enum(['yes', 'partial', 'no']),
    /**
     * Preview (EU once-only): evidence fetched for a case of this item is held for the applicant's
     * review before it goes to the deciding node. Optional, no default: items without it are as before.
     */
    preview: z.boolean().optional(),
    source: z.string().max(2000),
    defaults: z.boolean().default(false),
    version: z.number().int().min(1),
  })
  .refine((i) => (i.scope === 'national') === NATIONAL_CODE.test(i.code), {
    message: 'national items have N### codes, local items L<division>-… codes',
    path: ['code'],
  })
  .refine((i) => i.scope === 'national' || i.code.slice(1, 7) === i.ownerDivision, {
    message: "a local item's code starts with L and its owner's division code",
    path: ['code'],
  });
export type Item = z.infer<typeof Item>;

/** What a region supplies to add a local item; the rest is filled in. */
export const LocalItemInput = z.object({
  localNumber: z.string().regex(/^[0-9A-Z]{1,8}$/, 'a local number is 1–8 digits or capital letters'),
  name: z.string().trim().min(2).max(100),
  ministry: z.string().trim().min(1).max(50),
  audience: z.enum(['individual', 'enterprise']),
  modes: z.array(HandlingMode).min(1),
  dataElements: z.array(z.string()).min(1),
  timeLimit: TimeLimit,
  materials: z.array(MaterialSpec).default([]),
  preview: z.boolean().optional(),
  source: z.string().max(2000).default('local'),
});
export type LocalItemInput = z.input<typeof LocalItemInput>;
