export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function fromBase64url(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

export function hexToBase64url(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64url');
}

export function base64urlToHex(text: string): string {
  return Buffer.from(text, 'base64url').toString('hex');
}
