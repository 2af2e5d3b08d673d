// Goal: kvm_check_has_quirk() — a quirk is on unless userspace disabled it; method: the function over the modelled quirks.

import test from 'ava';
import { KVM_QUIRKS, kvmCheckHasQuirk } from '../../src/kvm/quirks.js';

test('every modelled quirk is on by default and off once disabled', (t) => {
  t.true(KVM_QUIRKS.length > 0);
  for (const q of KVM_QUIRKS) {
    t.true(kvmCheckHasQuirk([], q), q);
    t.false(kvmCheckHasQuirk([q], q), q);
  }
});
