// Failure messages and stack traces sealed like every other payload: the SDK moves
// them into a payload of the failure (encodedAttributes), which the history codec
// encrypts, and Temporal stores "Encoded failure" in their place. The SDK loads this
// module by path, with require() in the worker and the clients and into the workflow
// bundle, so it stays plain CommonJS that needs no build.
'use strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS on purpose (see above)
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
