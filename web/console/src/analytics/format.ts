// How analytics figures read: a rate with the counts behind it ("40% (2/5)").

/** A share 0..1 as a percentage: whole numbers, one decimal where rounding would say 0% or
 *  100% of something that is not all or nothing; "—" when there is nothing to divide. */
export function percent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  const p = rate * 100;
  const whole = Math.round(p);
  if (whole === 0 && p > 0) return p < 0.1 ? '<0.1%' : `${(Math.floor(p * 10) / 10).toFixed(1)}%`;
  if (whole === 100 && p < 100) return `${(Math.floor(p * 10) / 10).toFixed(1)}%`;
  return `${whole}%`;
}

/** "40% (2/5)"; "— (0/0)" without visitors. */
export function rateWithCounts(rate: number | null | undefined, part: number, whole: number): string {
  return `${percent(rate)} (${part}/${whole})`;
}

/** A share for bars: 0..1, 0 when unknown. */
export function share(part: number, whole: number): number {
  return whole > 0 ? Math.min(1, Math.max(0, part / whole)) : 0;
}
