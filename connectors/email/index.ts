export type { AttachmentMeta } from './attachments.js';
export type { BounceInfo } from './bounce.js';
export { createEmailConnector, type EmailConnector } from './connector.js';
export { isOwnMessageId, isOwnOutbound, OUTBOUND_HEADER, ownMessageId } from './message-id.js';
export type { EmailConnectorOptions } from './options.js';
export type { RobotKind } from './robots.js';
export { CURSOR_CONNECTOR, cursorKey, type FolderCursor } from './sync.js';
