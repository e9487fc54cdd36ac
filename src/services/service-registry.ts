import { TongbanError } from '../errors/index.ts';
import { validateRecord } from '../standards/index.ts';
import type { ServiceConfig } from './adapter-config.ts';
import { createAdapter, type DataAdapter } from './adapters.ts';
import { serviceDefinitionById, type ServiceDefinition } from './definitions.ts';

/** The data services one node publishes, each backed by an adapter. */
export class ServiceRegistry {
  readonly #services = new Map<string, { definition: ServiceDefinition; adapter: DataAdapter }>();

  constructor(configs: readonly ServiceConfig[], baseDir: string) {
    for (const config of configs) {
      const definition = serviceDefinitionById.get(config.id);
      if (!definition) throw new TongbanError('CONFIG_INVALID', `Unknown data service ${config.id}.`);
      const mapped = config.adapter.kind === 'sql' ? Object.keys(config.adapter.columns) : Object.keys(config.adapter.fields);
      const unknown = mapped.filter((f) => !definition.fields.includes(f));
      if (unknown.length > 0) throw new TongbanError('CONFIG_INVALID', `Service ${config.id} cannot deliver ${unknown.join(', ')}.`);
      this.#services.set(config.id, { definition, adapter: createAdapter(config.adapter, baseDir) });
    }
  }

  list(): { id: string; subject: string; fields: string[] }[] {
    return [...this.#services.values()].map(({ definition }) => ({ id: definition.id, subject: definition.subject, fields: [...definition.fields] }));
  }

  has(id: string): boolean {
    return this.#services.has(id);
  }

  definition(id: string): ServiceDefinition | undefined {
    return this.#services.get(id)?.definition;
  }

  /**
   * Looks a subject up and returns only the requested fields. Values are checked against the
   * data dictionary on the way out: a node does not pass on malformed data as if it were good.
   */
  async fetch(serviceId: string, subject: string, fields: readonly string[]): Promise<Record<string, unknown> | null> {
    const service = this.#services.get(serviceId);
    if (!service) throw new TongbanError('SERVICE_NOT_PUBLISHED', `This node does not publish ${serviceId}.`);
    const record = await service.adapter.lookup(subject);
    if (!record) return null;
    const out: Record<string, unknown> = {};
    for (const field of fields) out[field] = record[field] ?? null;
    const issues = validateRecord(out);
    if (issues.length > 0) {
      // The paths (field names) only, never the values: the provider records them as a data-quality finding.
      throw new TongbanError('SERVICE_UNAVAILABLE', `The data source returned invalid data for ${issues.map((i) => i.path).join(', ')}.`, {
        errors: issues.map((i) => ({ path: i.path, message: 'fails the data dictionary' })),
      });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#services.values()].map((s) => s.adapter.close()));
  }
}
