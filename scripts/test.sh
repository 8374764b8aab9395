#!/usr/bin/env bash
# Runs every test project of the repository and prints the totals as one line, "N passed, N failed".
#   scripts/test.sh          all tests (the CDK tests too, in their own project: slow restore, needs node)
#   scripts/test.sh --fast   everything but the CDK tests
#   STEDI_SLOW_TESTS=1 ...   also the slow tests (the rubric profile's real-data end to end on moto)
# The AWS adapter and Lambda tests start their own moto (Stedi.Lakehouse.Aws.MotoProcess, one per test project on a
# free port), or reuse the one at STEDI_MOTO_ENDPOINT when it is set. Exits non-zero when any test fails or any
# project fails to build.
set -u
cd "$(dirname "$0")/.."
fast=0
case "${1:-}" in
  "") ;;
  --fast) fast=1 ;;
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "scripts/test.sh: unknown argument '$1' (expected nothing or --fast; --help explains)" >&2; exit 2 ;;
esac

projects=(test/Stedi.Lakehouse.UnitTests test/Stedi.Lakehouse.Local.Tests test/Stedi.Lakehouse.Tests test/Stedi.Cases.Tests test/Stedi.Lakehouse.Aws.Tests test/Stedi.Functions.Tests test/Stedi.Cli.Tests)
[ $fast -eq 0 ] && projects+=(test/Stedi.Cdk.Tests)

if [ -z "${STEDI_MOTO_ENDPOINT:-}" ] && ! "${STEDI_MOTO_PYTHON:-python3}" -c "import moto.server" 2>/dev/null; then
  echo "moto is not installed: pip install 'moto[server]'" >&2; exit 2
fi

# The HTML report test (test/Stedi.Cli.Tests) opens the report in headless Chromium, Debian's package "chromium".
# A fresh machine (CI's included) may not have it: install it when it is missing.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    echo "installing chromium (apt-get) for the HTML report test"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null \
      || { echo "installing chromium failed; the HTML report test needs it" >&2; exit 2; }
  else
    echo "chromium is missing and cannot be installed here (needs apt-get and root or sudo); the HTML report test will fail" >&2
  fi
fi

if [ $fast -eq 0 ] && [ -f package-lock.json ] && [ ! -d node_modules/aws-cdk ]; then
  npm ci --no-audit --no-fund >/dev/null || { echo "npm ci failed" >&2; exit 2; }
fi

# Build everything once, in parallel (msbuild -m), then test without building: each project's own build pass
# re-checked every shared project again. If the whole build fails, each project builds itself as before, so the
# failure is reported against the project it belongs to.
nobuild=""
if dotnet build StediServerless.sln -c Release --nologo -v quiet -m; then nobuild="--no-build"; fi

passed=0; failed=0; status=0
for p in "${projects[@]}"; do
  [ -d "$p" ] || continue
  echo "=== $p"
  out=$(mktemp)
  dotnet test "$p" -c Release --nologo $nobuild 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  line=$(grep -E "(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+" "$out" | tail -1)
  if [ -n "$line" ]; then
    f=$(echo "$line" | sed -E 's/.*Failed: +([0-9]+),.*/\1/')
    s=$(echo "$line" | sed -E 's/.*Passed: +([0-9]+),.*/\1/')
    passed=$((passed + s)); failed=$((failed + f))
  elif [ $rc -ne 0 ]; then
    echo "!!! $p did not build or run" >&2; failed=$((failed + 1))
  fi
  [ $rc -ne 0 ] && status=1
  rm -f "$out"
done
echo
echo "$passed passed, $failed failed"
[ $failed -gt 0 ] && status=1
exit $status
