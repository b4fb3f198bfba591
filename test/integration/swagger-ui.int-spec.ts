import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, testOutputDir } from '../support/browser';
import { startTestApp, TestApp } from '../support/test-app';

const HELLO = JSON.parse(readFileSync(resolve(__dirname, '..', '..', '..', 'shared', 'examples', 'hello.json'), 'utf8'));

/** Swagger UI's block of an operation: `operations-<tag>-<operationId>`. */
const LIST_WORKFLOWS = '#operations-Workflows-WorkflowsController_list';
const EXECUTE_WORKFLOW = '#operations-Executions-ExecutionsController_execute';

/**
 * Swagger UI at /docs in headless Chromium (Debian's, driven by Playwright's core), against the real
 * app on a loopback port: authorize with a key, then "Try it out" on two operations, reading the
 * status and body Swagger UI shows. Screenshots of each step go to test-output/swagger-ui/.
 */
describe('Swagger UI in a real browser', () => {
  let t: TestApp;
  let baseUrl: string;
  let browser: Browser;
  let page: Page;
  let workflowId: string;
  let executionId: string;
  const pageErrors: string[] = [];
  const screenshots = testOutputDir('swagger-ui');
  /** The whole page, and (more legible) just the operation or dialog the step is about. */
  async function screenshot(name: string, detail?: Locator): Promise<void> {
    await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
    if (detail) await detail.screenshot({ path: join(screenshots, `${name}.detail.png`) });
  }

  beforeAll(async () => {
    t = await startTestApp();
    workflowId = (await t.http.post('/v1/workflows').set('Authorization', t.bearer(t.adminKey)).send(HELLO).expect(201)).body.id;
    const server = t.app.getHttpServer();
    if (!server.listening) await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Expands an operation, presses "Try it out", lets `fill` set its inputs, presses Execute; returns the block. */
  async function tryItOut(selector: string, fill: (operation: Locator) => Promise<void> = () => Promise.resolve()): Promise<Locator> {
    const operation = page.locator(selector);
    await operation.locator('.opblock-summary').first().click();
    await operation.locator('.try-out__btn').click();
    await fill(operation);
    await operation.locator('button.execute').click();
    await operation.locator('.live-responses-table .response-col_status').first().waitFor();
    return operation;
  }

  /** The status and the body Swagger UI shows for the request just made. */
  async function shownResponse(operation: Locator): Promise<{ status: number; body: string }> {
    const live = operation.locator('.live-responses-table');
    const status = Number((await live.locator('tbody .response-col_status').first().innerText()).trim());
    const body = await live.locator('.response-col_description .highlight-code .microlight, .response-col_description pre.microlight').first().innerText();
    return { status, body };
  }

  it('opens /docs and renders every operation', async () => {
    await page.goto(`${baseUrl}/docs`, { waitUntil: 'load', timeout: 60_000 });
    await page.locator(LIST_WORKFLOWS).waitFor({ timeout: 60_000 });
    await expect(page.locator('.info .title').innerText()).resolves.toContain('Tensorify Server API');
    const spec = (await t.http.get('/docs-json').expect(200)).body;
    const count = Object.values(spec.paths as Record<string, object>).reduce((sum, item) => sum + Object.keys(item).length, 0);
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(count);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('authorizes with an API key through the Authorize dialog', async () => {
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input#auth-bearer-value').fill(t.adminKey);
    await dialog.locator('button.modal-btn.authorize').click();
    // Authorized: the dialog says so, masks the key and offers Logout instead.
    await dialog.locator('h6', { hasText: 'Authorized' }).waitFor();
    await dialog.locator('button[aria-label="Remove authorization"]').waitFor();
    await expect(dialog.locator('input#auth-bearer-value').count()).resolves.toBe(0);
    await screenshot('01-authorized', dialog.locator('.modal-dialog-ux'));
    await dialog.locator('button.btn-done').click();
    await dialog.waitFor({ state: 'detached' });
    await expect(page.locator('.auth-wrapper button.authorize').getAttribute('class')).resolves.toMatch(/\blocked\b/);
  }, 60_000);

  it('runs "Try it out" on GET /v1/workflows and shows 200 with the workflow', async () => {
    const operation = await tryItOut(LIST_WORKFLOWS);
    const { status, body } = await shownResponse(operation);
    await screenshot('02-list-workflows', operation);
    expect(status).toBe(200);
    const list = JSON.parse(body);
    expect(list.workflows).toEqual([expect.objectContaining({ id: workflowId, name: HELLO.name })]);
    await expect(operation.locator('.curl-command').innerText()).resolves.toContain(`Authorization: Bearer ${t.adminKey}`);
  }, 60_000);

  it('runs "Try it out" on POST /v1/workflows/{id}/execute with edited inputs and shows 202 with an executionId', async () => {
    const operation = await tryItOut(EXECUTE_WORKFLOW, async (block) => {
      await block.locator('tr[data-param-name="id"] input').fill(workflowId);
      await block.locator('textarea.body-param__text').fill(JSON.stringify({ inputs: { name: 'Ada' } }, null, 2));
    });
    const { status, body } = await shownResponse(operation);
    await screenshot('03-execute-workflow', operation);
    expect(status).toBe(202);
    const shown = JSON.parse(body);
    expect(shown).toEqual({ executionId: expect.stringMatching(/^exec_/), status: 'queued' });
    // Only what was typed in was sent: no Idempotency-Key filled in from an example.
    await expect(operation.locator('.curl-command').innerText()).resolves.not.toMatch(/idempotency-key/i);
    executionId = shown.executionId;
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('ran the execution with the inputs typed into the UI', async () => {
    const deadline = Date.now() + 45_000;
    let execution: { status: string; output: unknown } | undefined;
    while (Date.now() < deadline) {
      execution = (await t.http.get(`/v1/executions/${executionId}`).set('Authorization', t.bearer(t.adminKey)).expect(200)).body;
      if (['completed', 'failed', 'cancelled'].includes(execution!.status)) break;
      await new Promise((done) => setTimeout(done, 200));
    }
    expect(execution).toMatchObject({ status: 'completed', output: { result: 'Hello, Ada!' } });
  }, 60_000);
});
