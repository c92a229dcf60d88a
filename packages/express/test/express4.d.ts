// The `express4` alias (npm:express@4) lets one test file run the contract on Express 4 and 5; its types are
// Express's own.
declare module 'express4' {
  import express from 'express';
  export default express;
}
