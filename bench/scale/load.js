'use strict';
/**
 * One autocannon load generator in its own process (forked by bench/scale/run.js, one per
 * instance, so the client side has as many processes whether it loads 1 instance or N).
 * Protocol over IPC: the parent sends { url, headers, connections, seconds }; this process answers
 * 'ready' once autocannon is loaded, starts on 'go' (all clients start together), and sends back
 * { total, duration, non2xx, errors, p50, p99 }.
 */
const autocannon = require('autocannon');

let job;
process.on('message', (message) => {
  if (message && message.url) {
    job = message;
    process.send('ready');
  } else if (message === 'go') {
    autocannon({ url: job.url, headers: job.headers, connections: job.connections, duration: job.seconds, pipelining: 1 }, (error, result) => {
      if (error) {
        process.send({ error: error.message }, () => process.exit(1));
        return;
      }
      process.send(
        {
          total: result.requests.total,
          duration: result.duration,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          p50: result.latency.p50,
          p99: result.latency.p99,
        },
        () => process.exit(0),
      );
    });
  }
});
// The parent went away (Ctrl-C, crash): stop loading.
process.on('disconnect', () => process.exit(1));
