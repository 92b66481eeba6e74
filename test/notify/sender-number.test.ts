import nock from 'nock';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CallChannel } from '../../src/notify/call-channel.ts';
import { SmsChannel } from '../../src/notify/http-channels.ts';
import { configWith } from '../helpers/config.ts';
import { notification } from '../helpers/notification.ts';

beforeAll(() => nock.disableNetConnect());
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

it('a From typed nationally in the config is posted to the provider as E.164, for texts and calls alike', async () => {
  const config = configWith({
    env: { T: 'tok' },
    school: `    channels:
      sms: { baseUrl: "https://sms.example.test", accountSid: AC1, authToken: "\${T}", from: "07700 900999" }
      call: { callbackUrl: "https://d.example/hooks/voice/alpha" }
`,
  });
  const s = config.schools[0]!;
  const froms: string[] = [];
  for (const [resource, prefix] of [
    ['Messages', 'SM'],
    ['Calls', 'CA'],
  ])
    nock('https://sms.example.test')
      .post(
        `/2010-04-01/Accounts/AC1/${resource}.json`,
        (b) => froms.push(new URLSearchParams(b as string).get('From')!) > 0,
      )
      .reply(201, { sid: `${prefix}${'0'.repeat(32)}` });
  const n = notification({ id: '1' });
  await new SmsChannel(s.channels.sms!, () => ['07700 900001']).send(n);
  await new CallChannel(
    s.channels.sms!,
    s.channels.call!,
    () => ['07700 900001'],
    async () => ({
      schoolName: 'A',
      personName: null,
      raisedAt: new Date(),
    }),
  ).send({ ...n, id: '2', target: 'call:g' });
  expect(froms).toEqual(['+447700900999', '+447700900999']);
});
