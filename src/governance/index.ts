export { TRIP_ASSUMPTION, NodeReport, FederationReport } from './model.ts';
export { balanceOf, savingsOf, statesOf, trustOf, nodeReport, SIGNATURE_CODES, DATA_QUALITY_KIND, type NodeReportContext } from './node-report.ts';
export { askNodeReport, federationReport, inForce, learningOf, progressOf, NODE_REPORT_PATH, PROBE_WINDOW_HOURS, type FederationContext, type NodeAnswer } from './federation.ts';
export { probeNodes, PROBE_RETENTION_DAYS } from './probes.ts';
