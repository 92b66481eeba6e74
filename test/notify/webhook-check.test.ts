import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.ts';
import { ChatWebhookChannel } from '../../src/notify/http-channels.ts';

const teams = (url: string) => new ChatWebhookChannel('teams', new Secret(url, 'env:TEAMS_URL'));

describe('webhook, Teams and Google Chat connection tests', () => {
  it('report a URL that is not one as a failed check, never throwing and never showing it', async () => {
    const check = await teams('hooks.example.com/webhookb2/SECRETTOKEN').check();
    expect(check).toEqual({
      name: 'channel:teams',
      ok: false,
      detail: 'channels.teams.url is not a URL (not shown): expected an https URL',
    });
  });
});
