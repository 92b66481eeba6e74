import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText } from '../../src/config/load.ts';
import { Secret } from '../../src/core/secret.ts';
import { configProblems, MINIMAL_SCHOOL } from '../helpers/config.ts';

const EXAMPLE = readFileSync('config/doorstep.example.yaml', 'utf8');
const THREE_MISTAKES = 'test/fixtures/config/three-mistakes.yaml';

const problems = configProblems;

const MINIMAL = MINIMAL_SCHOOL;

describe('config loading', () => {
  it('accepts the example config with no secrets set', () => {
    const r = parseConfigText(EXAMPLE, { env: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.schools.map((s) => s.id)).toEqual(['heath-lane', 'hampton-infant']);
    expect(r.config.schools[0]!.fobs.transports[0]).toMatchObject({ kind: 'mqtt' });
    // Hampton's overdue ladder comes from its policy pack, exactly as the policy gives it.
    const hampton = r.config.schools[1]!.escalation['overdue-visit']!;
    expect(hampton.condition).toBe('if-not-resolved');
    expect(hampton.levels.map((l) => l.afterMinutes)).toEqual([0, 30]);
    expect(hampton.levels.at(-1)!.prompt).toMatch(/worker.*location.*school.*police/);
    expect(hampton.source).toMatch(/half an hour/);
    expect(r.config.schools[0]!.escalation['overdue-visit']).toBeUndefined();
  });

  it("a school's own ladder in its config wins over its pack's", () => {
    const r = parseConfigText(
      `${MINIMAL.replace('policies: [statutory]', 'policies: [statutory, hampton]')}    escalation:
      overdue-visit: { levels: [{ afterMinutes: 0, notify: [board] }] }
`,
      { env: {} },
    );
    expect(r.ok && r.config.schools[0]!.escalation['overdue-visit']!.levels).toHaveLength(1);
  });

  it('fills documented defaults only where a key is absent', () => {
    const r = parseConfigText(MINIMAL, { env: {} });
    expect(r.ok && r.config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'doorstep' });
    expect(r.ok && r.config.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      sessionHours: 12,
      secureCookies: 'auto',
      trustProxy: false,
      lockout: { maxFailures: 5, minutes: 15, perAddressPerMinute: 30 },
    });
    expect(r.ok && r.config.schools[0]!.timezone).toBe('Europe/London');
  });

  it('names all three mistakes with path and line', () => {
    let thrown: unknown;
    try {
      loadConfigFile(THREE_MISTAKES, { ARBOR_PASSWORD_BETA: 'set' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({
      code: 'DOORSTEP_CONFIG_INVALID',
      exitCode: 2,
      message: `${THREE_MISTAKES}: 3 errors`,
      details: [
        'http.port (line 6): expected at most 65535, got 99999',
        'schools[1].mis.baseUrl (line 23): expected an https URL, got "ftp://x"',
        'schools[1].policy (line 27): unknown key "policy"; did you mean "policies"?',
      ],
    });
  });

  it('names a secret whose environment variable is not set', () => {
    expect(() => loadConfigFile(THREE_MISTAKES, {})).toThrow(
      expect.objectContaining({
        details: expect.arrayContaining([
          'schools[1].mis.password (line 24): environment variable ARBOR_PASSWORD_BETA is not set',
        ]),
      }),
    );
  });

  it('resolves ${ENV} and file: secrets into values that never print', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doorstep-secret-'));
    writeFileSync(join(dir, 'cpoms'), 'file-token\n');
    const text = MINIMAL.replace(
      'records: { sink: preview }',
      `records: { sink: cpoms, baseUrl: "https://alpha.cpoms.net", token: "file:${dir}/cpoms" }`,
    ).replace(
      'mis: { kind: csv, dropFolder: ./drop }',
      'mis: { kind: arbor, baseUrl: "https://alpha.uk.arbor.sc", username: u, password: "${ARBOR_PW}" }',
    );
    const r = parseConfigText(text, { env: { ARBOR_PW: 'env-pass' } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const school = r.config.schools[0]!;
    if (school.mis.kind !== 'arbor' || school.records.sink !== 'cpoms') throw new Error('wrong kinds');
    expect(school.mis.password).toBeInstanceOf(Secret);
    expect(school.mis.password.reveal()).toBe('env-pass');
    expect(school.records.token.reveal()).toBe('file-token');
    expect(JSON.stringify(r.config)).not.toMatch(/env-pass|file-token/);
    expect(String(school.mis.password)).toBe('[secret]');
  });

  it('refuses a secret written inline without echoing it', () => {
    const text = MINIMAL.replace(
      'records: { sink: preview }',
      'records: { sink: cpoms, baseUrl: "https://a.cpoms.net", token: "plain-token-value" }',
    );
    const out = problems(text);
    expect(out).toEqual([
      'schools[0].records.token (line 7): secrets must be a reference, ${ENV_NAME} or file:/path, never the value itself',
    ]);
  });

  it('refuses a family target for any notice but a cancellation: the others carry staff words', () => {
    const withNotices = (notices: string) => `${MINIMAL}    notices: ${notices}\n`;
    for (const kind of ['concern', 'childNotSeen', 'changed', 'visitRecord', 'awaitingAuthorisation'])
      expect(problems(withNotices(`{ ${kind}: [email:dsl, sms:family] }`))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^schools\\[0\\]\\.notices\\.${kind} \\(line \\d+\\): the family is not told this: its words are the staff's`,
          ),
        ),
      ]);
    expect(
      problems(withNotices('{ outcomeMissing: { visitors: [sms:family], escalateTo: [email:dsl] } }')),
    ).toEqual([expect.stringMatching(/notices\.outcomeMissing\.visitors.*the family is not told this/)]);
    expect(parseConfigText(withNotices('{ cancelled: [email:dsl, sms:family] }'), { env: {} }).ok).toBe(true);
  });

  it('refuses a password inside the Redis URL', () => {
    const out = problems(`redis: { url: "redis://:pw@127.0.0.1:6379" }\n${MINIMAL}`);
    expect(out[0]).toMatch(/^redis\.url \(line 1\): put the Redis password in redis\.password/);
    expect(out[0]).not.toContain('pw@');
  });

  it('refuses a secret written inline as a number (a PIN, a numeric token) without echoing it', () => {
    const out = problems(
      `redis: { password: 90210375 }\n${MINIMAL.replace(
        'records: { sink: preview }',
        'records: { sink: cpoms, baseUrl: "https://a.cpoms.net", token: 123456789012 }',
      )}`,
    );
    expect(out).toEqual([
      'redis.password (line 1): expected a secret reference, ${ENV_NAME} or file:/path, got a number (not shown)',
      'schools[0].records.token (line 8): expected a secret reference, ${ENV_NAME} or file:/path, got a number (not shown)',
    ]);
  });

  it('masks the user and password of a Redis URL that also has the wrong scheme or cannot be parsed', () => {
    const out = problems(`redis: { url: "redis+sentinel://:Hunter2Secret@cache:26379" }\n${MINIMAL}`);
    expect(out).toContain(
      'redis.url (line 1): expected a redis:// or rediss:// URL, got "redis+sentinel://***@cache:26379"',
    );
    expect(out.join('\n')).not.toContain('Hunter2Secret');
    const broken = problems(`redis: { url: "redis://:Hunter2Secret@[cache" }\n${MINIMAL}`);
    expect(broken).toEqual([
      'redis.url (line 1): expected a redis:// or rediss:// URL, got "redis://***@[cache"',
    ]);
  });

  it('still names a misspelt secret key as a typo, and a missing one as missing', () => {
    expect(problems(`http: { admin: { username: a, pasword: "\${P}" } }\n${MINIMAL}`)).toEqual([
      'http.admin.pasword (line 1): unknown key "pasword"; did you mean "password"?',
    ]);
    expect(problems(`http: { admin: { username: a } }\n${MINIMAL}`)).toEqual([
      'http.admin.password (line 1): required but missing',
    ]);
  });

  it('refuses a queue dashboard password shorter than 16 characters, never echoing it', () => {
    const said = problems(`http: { admin: { username: a, password: "\${P}" } }\n${MINIMAL}`, {
      P: 'summer2026',
    });
    expect(said).toEqual([
      'http.admin.password (line 1): expected a password of at least 16 characters, got 10 (not shown): e.g. $(openssl rand -base64 18)',
    ]);
    expect(said.join()).not.toContain('summer2026');
    expect(
      parseConfigText(`http: { admin: { username: a, password: "\${P}" } }\n${MINIMAL}`, {
        env: { P: 'x'.repeat(16) },
      }).ok,
    ).toBe(true);
  });

  it('refuses a password inside an MQTT or SMTP URL (the setting has its own, from a secret), never echoing it', () => {
    const withFob = `${MINIMAL}    fobs:\n      transports:\n        - { kind: mqtt, url: "mqtt://gw:hunter2@broker.example:1883", topics: ["s/fobs/{device}"] }\n`;
    const fob = problems(withFob);
    expect(fob).toEqual([
      expect.stringMatching(/url .*expected no password in the URL \(not shown\): give it as password:/),
    ]);
    expect(fob.join()).not.toContain('hunter2');
    const withMail = `${MINIMAL}    channels:\n      email: { smtpUrl: "smtps://mail:hunter2@smtp.example", from: "a@b.example" }\n`;
    const mail = problems(withMail);
    expect(mail).toEqual([expect.stringMatching(/smtpUrl .*expected no password in the URL/)]);
    expect(mail.join()).not.toContain('hunter2');
    // A user name alone is no secret.
    expect(parseConfigText(withMail.replace('mail:hunter2@', 'mail@'), { env: {} }).ok).toBe(true);
  });

  it('reports an unknown key where it is, with no fallback', () => {
    expect(problems(`${MINIMAL}    colour: blue\n`)).toEqual([
      'schools[0].colour (line 9): unknown key "colour"',
    ]);
  });

  it('reports a wrong discriminator with the allowed values', () => {
    expect(problems(MINIMAL.replace('kind: csv', 'kind: bromcom'))).toEqual([
      'schools[0].mis.kind (line 6): expected one of "sims-xml", "ctf", "csv", "arbor", "wonde", got "bromcom"',
    ]);
  });

  it("refuses a school whose MIS export is CTF without its URN: a CTF's own sessions are told from a transfer's by it alone", () => {
    const ctf = MINIMAL.replace(
      'mis: { kind: csv, dropFolder: ./drop }',
      'mis: { kind: ctf, dropFolder: ./drop }',
    );
    expect(ctf).not.toBe(MINIMAL);
    expect(problems(ctf)).toEqual([
      expect.stringMatching(
        /^schools\[0\]\.urn .*expected the school's 6-digit URN \(quoted\): its MIS export is CTF/,
      ),
    ]);
    expect(parseConfigText(ctf.replace('name: S\n', 'name: S\n    urn: "100001"\n'), { env: {} }).ok).toBe(
      true,
    );
  });

  it('reports duplicate school ids', () => {
    const text = `${MINIMAL}  - id: s\n    name: S2\n    mis: { kind: csv, dropFolder: ./d }\n    records: { sink: preview }\n    policies: [statutory]\n`;
    expect(problems(text)).toEqual([
      'schools[1].id (line 9): duplicate school id (also schools[0].id), got "s"',
    ]);
  });

  it('refuses two schools given one drop folder, or one inside the other, naming both schools and the folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doorstep-shared-drop-'));
    const two = (a: string, b: string) =>
      `trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: csv, dropFolder: "${a}" }
    records: { sink: preview }
    policies: [statutory]
  - id: beta
    name: Beta
    mis: { kind: sims-xml, dropFolder: "${b}" }
    records: { sink: preview }
    policies: [statutory]
`;
    // The same folder written two ways (a trailing slash, a ./ and ..): each would import the other's files.
    expect(problems(two(`${dir}/drop`, `${dir}/x/../drop/`))).toEqual([
      `schools[1].mis.dropFolder (line 10): school beta's drop folder ${dir}/drop is the same folder as school alpha's drop folder ${dir}/drop (schools[0].mis.dropFolder): each school imports every file in its folder as its own pupils, so one would import the other's exports; give each school a folder of its own, neither inside the other, got "${dir}/x/../drop/"`,
    ]);
    // One inside the other's processed/ or quarantine/, or holding the other's.
    expect(problems(two(`${dir}/drop`, `${dir}/drop/quarantine`))[0]).toContain(
      `school beta's drop folder ${dir}/drop/quarantine is inside school alpha's drop folder ${dir}/drop (schools[0].mis.dropFolder)`,
    );
    expect(problems(two(`${dir}/drop/processed/beta`, `${dir}/drop`))[0]).toContain(
      `school beta's drop folder ${dir}/drop holds school alpha's drop folder ${dir}/drop/processed/beta`,
    );
    // Through a link to the same folder.
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    expect(problems(two(`${dir}/real`, `${dir}/link`))[0]).toMatch(/is the same folder as school alpha's/);
    // Folders side by side (one a prefix of the other's name) are apart.
    expect(parseConfigText(two(`${dir}/drop`, `${dir}/drop-b`), { env: {} }).ok).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a webhook secret that is no Standard Webhooks key (it would sign with few or no bytes), and a short device key, never echoing them', () => {
    const text = `${MINIMAL}    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${A}" }
      devices:
        - { deviceId: PS-1, staffId: s-1, signingKey: "\${K}" }
`;
    for (const [secret, why] of [
      ['whsec_', 'got text that is not base64'],
      ['s3cr3t-not-base64!', 'got text that is not base64'],
      ['whsec_czNjcjN0', 'got 6 (not shown)'],
      [`whsec_${Buffer.alloc(65).toString('base64')}`, 'got 65 (not shown)'],
    ] as const) {
      const p = problems(text, { A: secret, K: 'k'.repeat(24) });
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(/^schools\[0\]\.fobs\.transports\[0\]\.secret \(line 11\): expected /);
      expect(p[0]).toContain(why);
      if (secret.length > 6) expect(p[0]).not.toContain(secret.slice(6));
    }
    const key = `whsec_${Buffer.alloc(24, 'z').toString('base64')}`;
    expect(parseConfigText(text, { env: { A: key, K: 'k'.repeat(24) } }).ok).toBe(true);
    const short = problems(text, { A: key, K: 'guessable' });
    expect(short).toEqual([
      'schools[0].fobs.devices[0].signingKey (line 13): expected a signing key of at least 24 characters, got 9 (not shown): e.g. $(openssl rand -base64 32)',
    ]);
    expect(short.join()).not.toContain('guessable');
  });

  it('refuses two webhooks with one profile (the second could never be reached), naming the second', () => {
    const text = `${MINIMAL}    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${A}" }
        - { kind: webhook, profile: peoplesafe-style, secret: "\${B}" }
`;
    const key = (c: string) => `whsec_${Buffer.alloc(32, c).toString('base64')}`;
    const p = problems(text, { A: key('a'), B: key('b') });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(
      /^schools\[0\]\.fobs\.transports\[1\]\.profile \(line 12\): expected one webhook per profile/,
    );
  });

  it("refuses the key Doorstep signs its alarm deliveries with when it is a fob webhook's (its receiver could sign fob events)", () => {
    const text = `${MINIMAL}    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${A}" }
  - id: t
    name: T2
    mis: { kind: csv, dropFolder: ./drop2 }
    records: { sink: preview }
    policies: [statutory]
    channels:
      webhook: { url: "https://alarms.example/hook", secret: "\${B}" }
`;
    const key = (c: string) => `whsec_${Buffer.alloc(32, c).toString('base64')}`;
    expect(parseConfigText(text, { env: { A: key('a'), B: key('b') } }).ok).toBe(true);
    const shared = problems(text, { A: key('a'), B: key('a').slice(6) });
    expect(shared).toEqual([
      expect.stringMatching(
        /^schools\[1\]\.channels\.webhook\.secret .*the same key as schools\[0\]\.fobs\.transports\[0\]\.secret \(not shown\)/,
      ),
    ]);
    expect(shared.join()).not.toContain(key('a').slice(6));
  });

  it('refuses one webhook secret at two addresses (a delivery signed for one school would verify at the other), never echoing it', () => {
    const text = `${MINIMAL}    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${A}" }
  - id: t
    name: T2
    mis: { kind: csv, dropFolder: ./drop2 }
    records: { sink: preview }
    policies: [statutory]
    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${B}", previousSecret: "\${C}" }
`;
    const key = (c: string) => `whsec_${Buffer.alloc(32, c).toString('base64')}`;
    expect(parseConfigText(text, { env: { A: key('a'), B: key('b'), C: key('c') } }).ok).toBe(true);
    const shared = problems(text, { A: key('a'), B: key('a'), C: key('c') });
    expect(shared).toEqual([
      'schools[1].fobs.transports[0].secret (line 19): the same secret as schools[0].fobs.transports[0].secret (not shown): a delivery signed for one webhook address would verify at the other, so each webhook needs its own secret',
    ]);
    expect(shared.join()).not.toContain(key('a').slice(6));
    // The secret being rotated out counts too: it still verifies.
    expect(problems(text, { A: key('a'), B: key('b'), C: key('a') })[0]).toMatch(
      /^schools\[1\]\.fobs\.transports\[0\]\.previousSecret .*the same secret as schools\[0\]\.fobs\.transports\[0\]\.secret/,
    );
    // A key is taken with or without its whsec_ prefix and signs with its bytes: one key spelt both
    // ways is one key (a delivery signed for one school would verify at the other).
    const bare = (c: string) => key(c).slice(6);
    const spelt = problems(text, { A: key('a'), B: bare('a'), C: key('c') });
    expect(spelt).toEqual(shared);
    expect(spelt.join()).not.toContain(bare('a'));
    expect(problems(text, { A: bare('a'), B: key('b'), C: key('a') })[0]).toMatch(
      /^schools\[1\]\.fobs\.transports\[0\]\.previousSecret .*the same secret as schools\[0\]\.fobs\.transports\[0\]\.secret/,
    );
    // Different keys, each spelt either way, are apart.
    expect(parseConfigText(text, { env: { A: bare('a'), B: key('b'), C: bare('c') } }).ok).toBe(true);
    // An address token that reads as a key is that key: seen in an address, it signs for the other school.
    const tokenText = text
      .replace('secret: "${B}", previousSecret: "${C}"', 'verify: address-token, token: "${B}"')
      .replace('profile: peoplesafe-style, verify', 'profile: blackline, verify');
    const k33 = Buffer.alloc(33, 'a').toString('base64');
    expect(parseConfigText(tokenText, { env: { A: k33, B: 't'.repeat(40) } }).ok).toBe(true);
    expect(problems(tokenText, { A: k33, B: `whsec_${k33}` })[0]).toMatch(
      /^schools\[1\]\.fobs\.transports\[0\]\.token .*the same secret as schools\[0\]\.fobs\.transports\[0\]\.secret/,
    );
  });

  it('refuses a fob registered twice (a re-issued fob added, the old line left), naming both entries', () => {
    const text = `${MINIMAL}    fobs:
      devices:
        - { deviceId: PS-0001, staffId: old-wearer }
        - { deviceId: PS-0002, staffId: someone }
        - { deviceId: PS-0001, staffId: new-wearer }
        - { deviceId: PS-0002, staffId: someone }
`;
    expect(problems(text)).toEqual([
      'schools[0].fobs.devices[2].deviceId (line 13): expected each fob once: device PS-0001 is also fobs.devices[0] (staff old-wearer, here new-wearer); keep only the line of the person who wears it now, got "PS-0001"',
      'schools[0].fobs.devices[3].deviceId (line 14): expected each fob once: device PS-0002 is also fobs.devices[1] (staff someone, the same); keep only the line of the person who wears it now, got "PS-0002"',
    ]);
  });

  it('refuses a device id with spacing at its ends or a control or invisible character (ids are matched exactly)', () => {
    const text = `${MINIMAL}    fobs:
      devices:
        - { deviceId: " PS-0001", staffId: a }
        - { deviceId: "PS-0002\\n", staffId: b }
        - { deviceId: "PS-\\u200b0003", staffId: c }
        - { deviceId: "PS\\u20110004", staffId: d }
        - { deviceId: PS 0005, staffId: e }
`;
    const why =
      'expected a device id without spacing at its ends or control or invisible characters (ids are matched exactly: a fob sending its id plainly would be raised as an unknown device)';
    expect(problems(text)).toEqual([
      `schools[0].fobs.devices[0].deviceId (line 11): ${why}, got " PS-0001"`,
      `schools[0].fobs.devices[1].deviceId (line 12): ${why}, got "PS-0002\\n"`,
      `schools[0].fobs.devices[2].deviceId (line 13): ${why}, got "PS-\u200b0003"`,
    ]);
  });

  it('refuses a device id with /, + or # where its fobs arrive on an MQTT topic that names the device (the broker would never deliver them)', () => {
    const mqtt = (binding = '') =>
      `        - { kind: mqtt, url: "mqtts://broker.example.org:8883", topics: ["doorstep/s/fobs/{device}/events"]${binding} }\n`;
    const school = (transports: string) => `${MINIMAL}    fobs:
      transports:
${transports}      devices:
        - { deviceId: "PS/0001", staffId: a }
        - { deviceId: "PS+0002", staffId: b }
        - { deviceId: "PS#0003", staffId: c }
        - { deviceId: "PS-\\x000004", staffId: d }
        - { deviceId: PS-0005, staffId: e }
`;
    const why =
      "expected a device id without /, + or #: this school's fobs arrive on an MQTT topic that names the device in one level ({device}), which such an id cannot be — its gateway's messages would never reach Doorstep and the wearer's SOS would be lost";
    const spacing =
      'expected a device id without spacing at its ends or control or invisible characters (ids are matched exactly: a fob sending its id plainly would be raised as an unknown device)';
    // NUL (as any control character) is refused for every device id, MQTT or not.
    expect(problems(school(mqtt()))).toEqual([
      `schools[0].fobs.devices[0].deviceId (line 13): ${why}, got "PS/0001"`,
      `schools[0].fobs.devices[1].deviceId (line 14): ${why}, got "PS+0002"`,
      `schools[0].fobs.devices[2].deviceId (line 15): ${why}, got "PS#0003"`,
      `schools[0].fobs.devices[3].deviceId (line 16): ${spacing}, got "PS-\\u00000004"`,
    ]);
    // A webhook-only school, or a gateway's topics that name no device: the id is the payload's.
    const kept = (transports: string) =>
      parseConfigText(school(transports).replace(/^.*PS-\\x000004.*\n/m, ''), {
        env: { S: `whsec_${'a'.repeat(44)}` },
      }).ok;
    expect(kept('        - { kind: webhook, profile: peoplesafe-style, secret: "${S}" }\n')).toBe(true);
    expect(kept(mqtt(', deviceBinding: none'))).toBe(true);
    expect(kept(mqtt())).toBe(false);
    // A school with no feed of its own, in a trust whose feed names the device in its topic: its
    // alarms come in on that feed.
    const trust = `trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: csv, dropFolder: ./drop-a }
    records: { sink: preview }
    policies: [statutory]
    fobs:
      transports:
${mqtt()}  - id: beta
    name: Beta
    mis: { kind: csv, dropFolder: ./drop-b }
    records: { sink: preview }
    policies: [statutory]
    fobs:
      devices:
        - { deviceId: "PS/0009", staffId: z }
`;
    expect(problems(trust)).toEqual([
      `schools[1].fobs.devices[0].deviceId (line 18): ${why.replace("this school's", "the trust's (this school has no feed of its own)")}, got "PS/0009"`,
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems('trust:\n  id: t\n   name: x\n')[0]).toMatch(/^yaml \(line 2\): Nested mappings/);
  });

  it('reports a file it cannot read; one that is not there, with where a config comes from', () => {
    expect(() => loadConfigFile('/nonexistent/doorstep.yaml')).toThrow(
      'cannot read config file /nonexistent/doorstep.yaml (ENOENT): copy config/doorstep.example.yaml to config/doorstep.yaml, or pass --config / set DOORSTEP_CONFIG',
    );
    // A folder is there but no file: no hint to copy one over it.
    expect(() => loadConfigFile('config')).toThrow(/^cannot read config file config \(EISDIR\)$/);
  });

  it('words a bad time or URN as the other settings do: no raw pattern, the YAML hint kept', () => {
    expect(problems(`${MINIMAL}    triggers: { nightlyAt: "2:30" }\n`)).toEqual([
      'schools[0].triggers.nightlyAt (line 9): expected a time as HH:MM (24-hour), got "2:30"',
    ]);
    // Unquoted, YAML reads a URN as a number.
    expect(problems(`${MINIMAL}    urn: 123456\n`)).toEqual([
      'schools[0].urn (line 9): expected a 6-digit URN (quote it in YAML), got 123456',
    ]);
    expect(problems(`${MINIMAL}    urn: "12345"\n`)).toEqual([
      'schools[0].urn (line 9): expected a 6-digit URN (quote it in YAML), got "12345"',
    ]);
  });
});

describe('policy packs in the config', () => {
  it('names an unknown pack and a bad override with their lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doorstep-packs-'));
    const file = join(dir, 'doorstep.yaml');
    writeFileSync(
      file,
      `trust: { id: t, name: T }
schools:
  - id: s
    name: S
    mis: { kind: csv, dropFolder: ./drop }
    records: { sink: preview }
    policies: [statutory, heath-lanes]
    triggers:
      overrides:
        "statutory:illness-15": { days: 0 }
`,
    );
    let thrown: unknown;
    try {
      loadConfigFile(file, {});
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({
      code: 'DOORSTEP_CONFIG_INVALID',
      details: [
        'schools[0].policies[1] (line 7): no policy pack "heath-lanes" (have: hampton, heath-lane, kings-gomer, lime-hills, statutory, thames-view)',
        "schools[0].triggers.overrides.statutory:illness-15.days (line 10): the law's, not a school setting: a statutory duty's days is not changed by a school (its settings: role)",
      ],
    });
  });
});
