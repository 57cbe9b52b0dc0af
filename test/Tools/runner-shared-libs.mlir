// A --shared-libs entry that does not exist or is no loadable library is an
// error naming it, with a non-zero exit, not silently skipped.
// RUN: not egs-runner %s -e main --entry-point-result=void --shared-libs=/etc/passwd 2>&1 | FileCheck %s --check-prefix=NOTLIB
// RUN: not egs-runner %s -e main --entry-point-result=void --shared-libs %t.missing.so 2>&1 | FileCheck %s --check-prefix=MISSING -DFILE=%t.missing.so
// RUN: not egs-runner %s -e main --entry-point-result=void --shared-libs=/etc/passwd,%t.missing.so 2>&1 | FileCheck %s --check-prefix=NOTLIB
// RUN: egs-runner %s -e main --entry-point-result=void 2>&1 | FileCheck %s --check-prefix=OK --allow-empty
// NOTLIB: egs-runner: error: --shared-libs: cannot load '/etc/passwd'
// MISSING: egs-runner: error: --shared-libs: '[[FILE]]' does not exist
// OK-NOT: error

func.func @main() {
  return
}
