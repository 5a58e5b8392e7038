import { refreshInProcess } from '#shared/launch/freshen.ts';
import { refreshAccount } from '#shared/oauth/refresh.ts';
import { installContractCheck } from '#test/helpers/contract.ts';
import { installTestIsolation } from '#test/helpers/isolation.ts';
import { installLogCapture } from '#test/helpers/logs.ts';

// Every test file captures what the process writes to stdout/stderr, so leak checks can search it.
installLogCapture();

// Every answer the test API sees is held to its route's declared contract (test/helpers/contract.ts).
installContractCheck();

// Every test starts from an empty table and the real clock, whatever ran before it (test/helpers/isolation.ts).
installTestIsolation();

// Launches and container routes refresh in this process, as local mode does (no refresh function to invoke).
refreshInProcess(refreshAccount);
