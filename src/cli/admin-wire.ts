import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import * as z from 'zod';

/**
 * The admin socket's wire: newline-delimited JSON, one message a line, both ways. The file below,
 * readable by its owner only, tells the CLI where the socket is and the token that proves it may use
 * it; the server writes it when it starts and removes it when it stops.
 */
export const ADMIN_FILE = 'doorstep-admin.json';
/** No message comes near this; a longer line closes the connection. */
export const MAX_LINE = 64 * 1024;

export const adminFileSchema = z.strictObject({
  pid: z.number().int().positive(),
  socket: z.string().min(1).max(4096),
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  /** The configuration the server runs with: commands run with it. */
  config: z.string().max(4096),
});
export type AdminFile = z.infer<typeof adminFileSchema>;

export function adminFilePath(dataDir: string): string {
  return join(resolve(dataDir), ADMIN_FILE);
}

/** The CLI's first message. */
export const requestSchema = z.strictObject({
  type: z.literal('run'),
  token: z.string().max(256),
  command: z.string().max(64),
  args: z.array(z.string().max(4096)).max(4),
  opts: z.record(z.string().max(64), z.union([z.string().max(4096), z.boolean()])),
});
export type AdminRequest = z.infer<typeof requestSchema>;

/** The CLI's answer to a question (the password it prompted for). */
export const answerSchema = z.strictObject({ type: z.literal('answer'), value: z.string().max(4096) });

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('out'), line: z.string() }),
  z.strictObject({ type: z.literal('err'), line: z.string() }),
  z.strictObject({ type: z.literal('ask'), what: z.literal('password') }),
  z.strictObject({
    type: z.literal('progress'),
    total: z.number(),
    bytes: z.number(),
    records: z.number(),
    done: z.boolean(),
  }),
  z.strictObject({ type: z.literal('exit'), code: z.number().int().min(0).max(255) }),
  z.strictObject({ type: z.literal('refused'), reason: z.string(), code: z.number().int() }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

export function send(socket: Socket, message: unknown): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`);
}

/**
 * Calls `onLine` with each complete line; a line longer than MAX_LINE destroys the socket (a peer
 * that sends one is not a Doorstep CLI or server).
 */
export function readLines(socket: Socket, onLine: (line: string) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.length > 0) onLine(line);
      if (socket.destroyed) return;
    }
    if (buffer.length > MAX_LINE) socket.destroy();
  });
}

export function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
