import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { Dialect, StoreOps } from '../store.ts';
import { acceptancesOps, negotiationsOps } from './negotiations.ts';
import { consentUsesOps, consentsOps } from './consents.ts';
import { certificatesOps, statusListsOps } from './certificates.ts';
import { certificateIndexOps, certificateIssuersOps } from './certificate-trust.ts';
import { catalogItemsOps, keysOps, settingsOps } from './basics.ts';
import { caseMessagesOps, casesOps } from './cases.ts';
import { governanceOps } from './governance.ts';
import { certificateChallengesOps, statusListCacheOps } from './certificate-verification.ts';
import { adminGrantsOps, loginStatesOps, machineClientsOps, sessionsOps } from './node-identity.ts';
import { directorySnapshotsOps, inboxOps, leasesOps, loginFailuresOps, outboxOps } from './messages.ts';
import { oidcPayloadsOps, peopleOps } from './identity.ts';
import { agreementStatesOps, agreementsOps, auditOps, checkpointsOps, directoryOps, incidentsOps, noncesOps } from './federation.ts';

/** The repositories over one connection or transaction. */
export function makeOps(db: Kysely<Database>, clock: () => Date, dialect: Dialect): StoreOps {
  const context = { db, clock, dialect };
  return {
    settings: settingsOps(context),
    keys: keysOps(context),
    catalogItems: catalogItemsOps(context),
    directory: directoryOps(context),
    agreements: agreementsOps(context),
    agreementStates: agreementStatesOps(context),
    audit: auditOps(context),
    checkpoints: checkpointsOps(context),
    incidents: incidentsOps(context),
    nonces: noncesOps(context),
    cases: casesOps(context),
    caseMessages: caseMessagesOps(context),
    outbox: outboxOps(context),
    inbox: inboxOps(context),
    leases: leasesOps(context),
    directorySnapshots: directorySnapshotsOps(context),
    loginFailures: loginFailuresOps(context),
    adminGrants: adminGrantsOps(context),
    machineClients: machineClientsOps(context),
    loginStates: loginStatesOps(context),
    sessions: sessionsOps(context),
    negotiations: negotiationsOps(context),
    acceptances: acceptancesOps(context),
    people: peopleOps(context),
    oidcPayloads: oidcPayloadsOps(context),
    consents: consentsOps(context),
    consentUses: consentUsesOps(context),
    statusListCache: statusListCacheOps(context),
    certificateChallenges: certificateChallengesOps(context),
    certificates: certificatesOps(context),
    statusLists: statusListsOps(context),
    certificateIssuers: certificateIssuersOps(context),
    certificateIndex: certificateIndexOps(context),
    governance: governanceOps(context),
  };
}
