/**
 * A value's JSON as UTF-8 bytes in a Buffer of its own, for an answer kept in a cache and sent
 * many times: a Buffer goes to the socket as it is, where a string is copied and encoded again on
 * every write. Not `Buffer.from`, whose small Buffers are slices of a shared 8 KiB pool: one kept
 * in a cache would keep its whole slab alive.
 */
export function jsonBytes(value: unknown): Buffer {
  const text = JSON.stringify(value);
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}
