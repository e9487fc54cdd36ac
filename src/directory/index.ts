export { DirectoryEntry, DirectorySnapshot, DirectoryView, PublishedService, signSnapshot, verifySnapshot } from './snapshot.ts';
export { HubDirectory, type HubDirectoryOptions } from './hub-directory.ts';
export { DirectoryClient, type DirectoryClientOptions } from './directory-client.ts';
