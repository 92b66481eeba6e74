import { describe, expect, it } from 'vitest';
import { type DeliveryFacts, deliveryDetail, deliveryState } from '../../src/domain/escalation/delivery.ts';

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
});
