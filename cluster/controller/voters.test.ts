import { describe, expect, it } from 'vitest';
import { controllerVoters } from './voters.ts';

describe('controllerVoters', () => {
  it('takes the lowest ids, an odd count up to 5', () => {
    expect(controllerVoters([])).toEqual([]);
    expect(controllerVoters([7])).toEqual([7]);
    expect(controllerVoters([2, 1])).toEqual([1]);
    expect(controllerVoters([3, 1, 2])).toEqual([1, 2, 3]);
    expect(controllerVoters([4, 3, 2, 1])).toEqual([1, 2, 3]);
    expect(controllerVoters([9, 8, 7, 6, 5, 4, 3, 2, 1])).toEqual([1, 2, 3, 4, 5]);
    expect(controllerVoters([1, 2, 3, 4, 5], 3)).toEqual([1, 2, 3]);
    expect(controllerVoters([1, 1, 2, 2, 3])).toEqual([1, 2, 3]);
    expect(() => controllerVoters([1], 0)).toThrow(RangeError);
  });
});
