// A node:test file as a user would write it (run by explore.test.ts with `node --test`): one clean race test, one that must fail.

import { test } from 'node:test';
import { exploreTest } from 'faultline';

test('the classic race stays closed', exploreTest({ scenario: 'seq-check', budget: 100 }));
test('the classic race with its bug put back, expected clean', exploreTest({ scenario: 'seq-check', bug: true }));
