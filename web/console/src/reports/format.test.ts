import { describe, expect, it } from 'vitest';
import { contactDetails, contactLabel, formatFirstResponse } from './format';

describe('first response time', () => {
  it('reads like a person would say it', () => {
    expect(formatFirstResponse(null)).toBe('—');
    expect(formatFirstResponse(0.42)).toBe('0.4s');
    expect(formatFirstResponse(4)).toBe('4s');
    expect(formatFirstResponse(42.318)).toBe('42s');
    expect(formatFirstResponse(59.6)).toBe('1m 00s');
    expect(formatFirstResponse(185)).toBe('3m 05s');
    expect(formatFirstResponse(3725)).toBe('1h 02m');
    expect(formatFirstResponse(86400)).toBe('1d');
    expect(formatFirstResponse(97200)).toBe('1d 3h');
    expect(formatFirstResponse(-1)).toBe('—');
  });

  it('names the contact by note name first', () => {
    expect(contactLabel({ name: 'Visitor 7', note_name: 'VIP Jane' })).toBe('VIP Jane');
    expect(contactLabel({ name: 'Visitor 7', note_name: '  ' })).toBe('Visitor 7');
    expect(contactLabel({ name: '', note_name: null })).toBe('Visitor');
    expect(contactDetails({ phone: '+1 555 0100', email: 'jane@example.com' })).toBe('+1 555 0100 · jane@example.com');
    expect(contactDetails({ phone: null, email: '' })).toBe('');
  });
});
