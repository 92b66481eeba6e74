import { describe, expect, it } from 'vitest';
import { SchoolCalendar } from '../../src/domain/calendar.ts';

const calendar = new SchoolCalendar({
  terms: [
    { start: '2024-09-04', end: '2024-12-20' },
    { start: '2025-01-06', end: '2025-04-04' },
    { start: '2025-04-22', end: '2025-07-22' },
  ],
  closures: [
    { from: '2025-01-06', to: '2025-01-06', kind: 'inset', note: 'training day' },
    { from: '2025-05-05', to: '2025-05-05', kind: 'bank-holiday' },
  ],
});

describe('SchoolCalendar.whyClosed', () => {
  it('says nothing about a school day', () => {
    expect(calendar.whyClosed('2025-01-07')).toBeUndefined();
  });

  it('names closures with their kind and note', () => {
    expect(calendar.whyClosed('2025-01-06')).toEqual({ kind: 'inset', note: 'training day' });
    expect(calendar.whyClosed('2025-05-05')).toEqual({ kind: 'bank-holiday' });
  });

  it('tells weekends, holidays, before the first and after the last term apart', () => {
    expect(calendar.whyClosed('2025-01-11')).toEqual({ kind: 'weekend' });
    expect(calendar.whyClosed('2024-12-23')).toEqual({ kind: 'holiday' });
    expect(calendar.whyClosed('2025-04-14')).toEqual({ kind: 'holiday' });
    expect(calendar.whyClosed('2024-09-02')).toEqual({ kind: 'before-term' });
    expect(calendar.whyClosed('2025-07-24')).toEqual({ kind: 'after-term' });
  });

  it('does not judge academic years no term covers', () => {
    // 2023/24: the school entered no terms for it, so a weekday there is not called a holiday.
    expect(calendar.whyClosed('2024-03-12')).toBeUndefined();
    expect(calendar.whyClosed('2024-03-16')).toEqual({ kind: 'weekend' });
  });
});
