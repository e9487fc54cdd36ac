export { CONFIG_FILE_NAME, ConfigFile, NodeRole, checkReadDatabase, loadConfig, resolveDatabaseUrl, NATIONAL_DIVISION, type NodeConfig } from './config.ts';
