'use strict';
// `npm run demo`: build the browser bundle if it is missing or stale, then run the demo server in
// this process (PORT and COLLABIO_DATA are read by server.js).

const { ensureBuilt } = require('./build');

ensureBuilt()
  .then(() => require('./server'))
  .catch((err) => {
    console.error('could not build the demo page:', err.message || err);
    process.exit(1);
  });
