import { describe, expect, it } from 'vitest';
import {
  alarmWarning,
  type DeliveryFacts,
  deliveryDetail,
  deliveryState,
  noOneReached,
  onlyOnBoard,
} from '../../src/domain/escalation/delivery.ts';
import { LADDER_STALLED_AFTER_MS, ladderStalled } from '../../src/domain/escalation/stalled.ts';

const facts = (o: Partial<DeliveryFacts>): DeliveryFacts => ({
  target: 'sms:leaders',
  status: 'sent',
  error: null,
  delivered: 0,
  undelivered: 0,
  unreported: 0,
  deliveryErrors: [],
  ...o,
});

describe('how far a notification got', () => {
  it('reads the send and the provider reports together, never claiming more than is known', () => {
    expect(deliveryState(facts({ status: 'pending' }))).toBe('sending');
    expect(deliveryState(facts({ target: 'board' }))).toBe('delivered');
    expect(deliveryState(facts({ target: 'teams:office' }))).toBe('sent');
    expect(deliveryState(facts({ unreported: 2 }))).toBe('sent');
    expect(deliveryState(facts({ delivered: 2 }))).toBe('delivered');
    expect(deliveryState(facts({ delivered: 1, unreported: 1 }))).toBe('sent');
    expect(deliveryState(facts({ delivered: 1, undelivered: 1 }))).toBe('partly-failed');
    expect(deliveryState(facts({ undelivered: 2 }))).toBe('failed');
    expect(deliveryState(facts({ status: 'failed', error: 'teams: HTTP 404' }))).toBe('failed');
    // Withdrawn (the alarm taken or resolved before a retry): never sent, said so, and no "failed".
    const withdrawn = facts({
      status: 'withdrawn',
      target: 'sms:leaders',
      error: 'not sent: the alarm was taken first',
    });
    expect(deliveryState(withdrawn)).toBe('withdrawn');
    expect(deliveryDetail(withdrawn)).toBe('not sent: the alarm was taken first');
    // It reached no one and failed no one: beside a failed text, every message tried failed.
    const failed = facts({ status: 'failed', target: 'sms:dsl', error: 'refused' });
    expect(noOneReached([withdrawn, failed])).toBe(true);
    expect(noOneReached([withdrawn])).toBe(false);
    // Review: a text to a group with one number refused failed for good, and the board said EVERY
    // MESSAGE FAILED though the others had it: some were sent — partly failed, and someone knows.
    const partly = facts({
      status: 'failed',
      target: 'sms:leaders',
      error: 'sms: HTTP 400 (21211)',
      unreported: 2,
    });
    expect(deliveryState(partly)).toBe('partly-failed');
    expect(deliveryDetail(partly)).toBe('PARTLY FAILED (sms: HTTP 400 (21211)): 2 sent');
    expect(noOneReached([partly])).toBe(false);
  });

  it('knows an alarm only the board (and the worker) has been told of', () => {
    expect(onlyOnBoard([])).toBe(true);
    expect(onlyOnBoard([facts({ target: 'board', status: 'delivered' })])).toBe(true);
    // The worker's own text is not the office being alerted; a withdrawn one never went.
    expect(onlyOnBoard([facts({ target: 'sms:visiting-staff' }), facts({ status: 'withdrawn' })])).toBe(true);
    // Sent to people (failed or not): someone was tried — noOneReached says whether it failed.
    expect(onlyOnBoard([facts({ target: 'sms:on-call-leaders' })])).toBe(false);
    expect(onlyOnBoard([facts({ target: 'push:office-staff', status: 'failed', error: 'gone' })])).toBe(
      false,
    );
  });

  it('says it for people', () => {
    expect(deliveryDetail(facts({ status: 'failed', error: 'teams: HTTP 404' }))).toBe(
      'FAILED (teams: HTTP 404)',
    );
    expect(deliveryDetail(facts({ undelivered: 1, deliveryErrors: ['failed 30006'] }))).toBe(
      'NOT DELIVERED (1 not delivered: failed 30006)',
    );
    expect(deliveryDetail(facts({ delivered: 2 }))).toBe('delivered (2 delivered)');
    expect(deliveryDetail(facts({ unreported: 1 }))).toBe('sent, not confirmed');
    expect(deliveryDetail(facts({ status: 'pending', error: 'HTTP 500' }))).toBe(
      'sending (retrying: HTTP 500)',
    );
  });

  it('warns when every message to a person failed, before saying no one has responded', () => {
    const board = facts({ target: 'board' });
    const failed = facts({ status: 'failed', error: 'sms: not configured' });
    const open = { status: 'open', step: 2, reopened: false };
    expect(alarmWarning({ ...open, notifications: [board, failed, failed] })).toBe('no-one-reached');
    // One text sent (not yet confirmed): people were asked, and nobody has taken it.
    expect(alarmWarning({ ...open, notifications: [board, failed, facts({})] })).toBe('no-response');
    expect(alarmWarning({ ...open, notifications: [board, facts({ undelivered: 1 })] })).toBe(
      'no-one-reached',
    );
    // A ladder that only shows the board has no one else to reach.
    expect(alarmWarning({ ...open, notifications: [board] })).toBe('no-response');
    expect(alarmWarning({ ...open, step: 1, notifications: [board, facts({})] })).toBeNull();
    expect(alarmWarning({ ...open, step: 1, reopened: true, notifications: [] })).toBe('no-response');
    expect(alarmWarning({ ...open, step: 1, notifications: [failed] })).toBe('no-one-reached');
    expect(alarmWarning({ ...open, status: 'acknowledged', notifications: [failed] })).toBeNull();
    // Taken, with a ladder that runs until resolved: the people it still texts are not reached either.
    expect(
      alarmWarning({ ...open, status: 'acknowledged', runs: true, notifications: [board, failed] }),
    ).toBe('no-one-reached');
    expect(
      alarmWarning({ ...open, status: 'acknowledged', runs: true, notifications: [board, facts({})] }),
    ).toBeNull();
  });

  it('warns of a ladder that stopped moving (no one is being paged), after no one reached', () => {
    const board = facts({ target: 'board' });
    const failed = facts({ status: 'failed', error: 'sms: not configured' });
    const open = { status: 'open', step: 1, reopened: false, stalled: true };
    expect(alarmWarning({ ...open, notifications: [] })).toBe('ladder-stalled');
    expect(alarmWarning({ ...open, step: 0, notifications: [] })).toBe('ladder-stalled');
    // Not "no one has responded": they were never asked.
    expect(alarmWarning({ ...open, step: 3, notifications: [board, facts({})] })).toBe('ladder-stalled');
    expect(alarmWarning({ ...open, notifications: [board, failed] })).toBe('no-one-reached');
    // Taken, with a ladder that runs until resolved: its people are still not being paged.
    expect(alarmWarning({ ...open, status: 'acknowledged', notifications: [] })).toBe('ladder-stalled');
    expect(alarmWarning({ ...open, status: 'resolved', notifications: [] })).toBeNull();
  });

  it('calls a ladder stalled only once its step is minutes past its time', () => {
    const now = new Date('2026-12-03T10:15:00Z');
    const ago = (ms: number) => new Date(now.getTime() - ms);
    const a = {
      status: 'open',
      step: 1,
      nextStepAt: ago(LADDER_STALLED_AFTER_MS + 1),
      createdAt: ago(600_000),
    };
    expect(ladderStalled(a, now)).toBe(true);
    expect(ladderStalled({ ...a, nextStepAt: ago(LADDER_STALLED_AFTER_MS - 1) }, now)).toBe(false);
    expect(ladderStalled({ ...a, step: 0, nextStepAt: null }, now)).toBe(true);
    expect(ladderStalled({ ...a, step: 0, nextStepAt: null, createdAt: ago(10_000) }, now)).toBe(false);
    expect(ladderStalled({ ...a, step: -1 }, now)).toBe(false);
    expect(ladderStalled({ ...a, status: 'resolved' }, now)).toBe(false);
  });
});
