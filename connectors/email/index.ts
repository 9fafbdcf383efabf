export type { AttachmentMeta } from './attachments.js';
export type { BounceInfo } from './bounce.js';
export { createEmailConnector, type EmailConnector } from './connector.js';
export type { EmailConnectorOptions } from './options.js';
export { isOwnOutbound } from './own-outbound.js';
export type { RobotKind } from './robots.js';
export { CURSOR_CONNECTOR, cursorKey, type FolderCursor } from './sync.js';
