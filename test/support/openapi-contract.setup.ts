import { takeContractViolations } from './openapi-responses';

// Every e2e test fails when an answer it caused broke the OpenAPI document (test/support/openapi-responses.ts).
const failOnViolations = () => {
  const violations = takeContractViolations();
  if (violations.length > 0) throw new Error(`Answers that break the OpenAPI document:\n${[...new Set(violations)].join('\n')}`);
};
afterEach(failOnViolations);
afterAll(failOnViolations);
