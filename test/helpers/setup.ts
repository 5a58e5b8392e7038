import { installLogCapture } from '#test/helpers/logs.ts';

// Every test file captures what the process writes to stdout/stderr, so leak checks can search it.
installLogCapture();
