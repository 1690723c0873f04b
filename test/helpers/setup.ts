// Runs in every test process before the tests: quiet SDK logs (warnings and errors stay visible).
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
