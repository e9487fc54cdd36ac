import { z } from 'zod';
import { Agreement, agreementStates, lifecycleActionNames, standingOf, type SignedAgreement } from '../../agreements/index.ts';
import type { ServerContext } from '../context.ts';
import { dataAdminAuth } from '../data-admin.ts';
import { addRoute, Page, pageOf } from '../route.ts';

const StateChange = z.object({ action: z.enum(lifecycleActionNames), party: z.string(), actor: z.string(), reason: z.string(), at: z.string() });
const AgreementAtNode = z.object({
  terms: Agreement,
  /** Where it stands here now: active, suspended (and by whom), terminated, expired. */
  state: z.enum(agreementStates),
  stateChange: StateChange.optional(),
  /** The parties whose signatures the registered version carries. */
  signedBy: z.array(z.string()),
});
const ServiceGrant = z.object({
  agreementId: z.string(),
  agreementVersion: z.number(),
  state: z.enum(agreementStates),
  itemCode: z.string(),
  requesters: z.array(z.string()),
  fields: z.array(z.string()),
  purposes: z.array(z.string()),
  consentRequired: z.boolean(),
});

/**
 * What a data administrator reads of their node beyond negotiations: the agreements registered
 * for it (terms and where each stands here), and the data services it publishes with the grants
 * agreements make of each. Nodes only; read from the directory view and the lifecycles (refreshed from the database first: another replica may have recorded a change).
 */
export function dataAdminPlugin(context: ServerContext): void {
  const { app, openapi, runtime } = context;
  if (runtime.config.node.role !== 'node') return;
  const self = runtime.config.node.division;
  const admin = dataAdminAuth({ operatorToken: runtime.operatorToken, identity: runtime.identity, self });
  const inForce = async (): Promise<readonly SignedAgreement[]> => {
    // The states another replica of this node recorded, too (their standing is read next).
    await runtime.lifecycles.refresh();
    return (await runtime.exchange.directory.current()).agreements;
  };
  const standing = (a: Agreement) => standingOf(runtime.lifecycles.lifecycle(a.id), a, context.clock());

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/agreements',
    tag: 'operator',
    summary:
      'Operator or data administrator: the registered agreements this node relies on (the directory’s versions), each with its terms, the parties that signed it and where it stands here (active, suspended — by whom, when, why —, terminated, expired), by id',
    query: Page(200, 100),
    response: z.object({ agreements: z.array(AgreementAtNode), total: z.number() }),
    errors: [401],
    auth: admin.auth,
    before: admin.before,
    handler: async ({ query }) => {
      const all = [...(await inForce())].sort((a, b) => a.agreement.id.localeCompare(b.agreement.id));
      const { page, total } = pageOf(all, query);
      return {
        total,
        agreements: page.map(({ agreement, signatures }) => {
          const s = standing(agreement);
          return { terms: agreement, state: s.state, ...(s.change ? { stateChange: s.change } : {}), signedBy: signatures.map((x) => x.division) };
        }),
      };
    },
  });

  addRoute(app, openapi, {
    method: 'GET',
    url: '/v1/operator/services',
    tag: 'operator',
    summary:
      'Operator or data administrator: the data services this node publishes (id, subject, the fields it can deliver) and, for each, the grants of the agreements it relies on: to whom, under which item, which fields, for which purposes, whether the citizen’s consent is required, and where the agreement stands',
    response: z.array(z.object({ id: z.string(), subject: z.string(), fields: z.array(z.string()), grants: z.array(ServiceGrant) })),
    errors: [401],
    auth: admin.auth,
    before: admin.before,
    handler: async () => {
      const agreements = await inForce();
      return runtime.services.list().map((service) => ({
        ...service,
        grants: agreements.flatMap(({ agreement }) => {
          const state = standing(agreement).state;
          return agreement.items.flatMap((item) =>
            item.grants
              .filter((g) => g.provider === self && g.service === service.id)
              .map((g) => ({ agreementId: agreement.id, agreementVersion: agreement.version, state, itemCode: item.itemCode, requesters: g.requesters, fields: g.fields, purposes: g.purposes, consentRequired: g.consentRequired })),
          );
        }),
      }));
    },
  });
}
