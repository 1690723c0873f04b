// closedAfterUse closes what a test started when that test ends, and what a hook started
// after the file: a cluster held until the file ends loads the machine for every test after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedAfterUse } from './test-scoped.js';

const closeAfterUse = closedAfterUse();
const closed: string[] = [];
const closer = (what: string) => async () => void closed.push(what);

describe('closedAfterUse', () => {
  beforeAll(() => closeAfterUse(closer('started in beforeAll')));
  afterAll(() => {
    // The file's afterAll (registered first, so it runs last) has not run yet.
    expect(closed).toEqual(['started in the first test']);
  });

  it('leaves open, while the test runs, what the test started', () => {
    closeAfterUse(closer('started in the first test'));
    expect(closed).toEqual([]);
  });

  it('has closed what the first test started once that test ended, and not what the hook started', () => {
    expect(closed).toEqual(['started in the first test']);
  });
});
