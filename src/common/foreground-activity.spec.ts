import sqlite3 from 'sqlite3';
import { DataSource } from 'typeorm';
import { ForegroundActivity } from './foreground-activity';

describe(ForegroundActivity.name, () => {
  let activity: ForegroundActivity;
  let dataSource: DataSource;

  beforeEach(async () => {
    activity = new ForegroundActivity();
    dataSource = await new DataSource({ type: 'sqlite', driver: { verbose: () => sqlite3 }, database: ':memory:', logger: activity }).initialize();
  });
  afterEach(() => dataSource.destroy());

  it('hears each query of the data source it is the logger of as it starts, in a transaction too', async () => {
    const start = performance.now();
    expect(activity.querySince(start)).toBe(false);
    await dataSource.query('SELECT 1');
    expect(activity.querySince(start)).toBe(true);
    const again = performance.now();
    await dataSource.transaction((manager) => manager.query('SELECT 2'));
    expect(activity.querySince(again)).toBe(true);
    expect(activity.requestSince(start)).toBe(false);
  });

  it('hears an HTTP request start', () => {
    const start = performance.now();
    activity.requestStarted();
    expect(activity.requestSince(start)).toBe(true);
    expect(activity.querySince(start)).toBe(false);
  });
});
