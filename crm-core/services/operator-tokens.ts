import { createHash, randomBytes } from 'node:crypto';

/** Operator API tokens are stored as SHA-256 hashes; the token itself is shown once, when it is issued. */
export const newOperatorToken = () => `op_${randomBytes(24).toString('base64url')}`;
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
