import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** A local SMTP server that takes mail as a real one does, for the e-mail channel's tests. */
export interface FakeSmtp {
  /** `smtp://127.0.0.1:<port>`, for the channel's `smtpUrl`. */
  url: string;
  /** Every recipient of every message taken, in order. */
  received: string[];
  close(): Promise<void>;
}

/**
 * Starts one on a free port. `refuse(address)` gives the SMTP reply code to refuse a recipient with
 * (550 a mailbox gone, 450/451 try later), or undefined to take them; other `SMTPServer` options
 * (a slow `onConnect`, say) pass through.
 */
export async function startFakeSmtp(
  o: { refuse?: (address: string) => number | undefined } & Partial<SMTPServerOptions> = {},
): Promise<FakeSmtp> {
  const { refuse, ...options } = o;
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _session, callback) {
      const code = refuse?.(address.address);
      if (code === undefined) return callback();
      callback(
        Object.assign(new Error(code >= 500 ? 'mailbox unavailable' : 'try again later'), {
          responseCode: code,
        }),
      );
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        received.push(...session.envelope.rcptTo.map((r) => r.address));
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
