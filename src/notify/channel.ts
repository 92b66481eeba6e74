/** A notification for a person or place: which alarm, which ladder step, where to. Ids only. */
export interface Notification {
  id: string;
  alarmId: string;
  schoolId: string;
  step: number;
  /** `board`, `sms:on-call-leaders`, `email:dsl`, … */
  target: string;
  alarmType: string;
  deviceId: string;
  staffId: string | null;
}

export interface DeliveryReceipt {
  /** The channel's id for what it sent, or a description. */
  receipt: string;
}

/** Every notification channel (board, SMS, e-mail, Teams, Google Chat, webhook). */
export interface Channel {
  readonly kind: string;
  send(n: Notification): Promise<DeliveryReceipt>;
}

/** The channel kind of a target: `sms:on-call-leaders` → `sms`. */
export function channelKind(target: string): string {
  return target.split(':')[0]!;
}
