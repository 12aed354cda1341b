// The page's side of the training workers: one Session per learning rule holds its worker, its
// curves and its latest statistics; the Lab hands sessions out and tells every view when one
// changes. Views never talk to workers directly.

import type { Algorithm, CheckpointMetadata, LayerStats, Split } from '../../src/browser.js';
import type { FromWorker, ModelInfo, Settling, ToWorker, TrainingSplits, TrainSettings } from './protocol.js';

export type SessionState =
  | 'idle'
  | 'training'
  | 'stopping'
  | 'stopped'
  | 'done'
  | 'loading'
  | 'loaded'
  | 'failed';

export interface CurvePoint {
  seconds: number;
  value: number;
}

export interface Prediction {
  probabilities: number[];
  goodness?: number[];
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void };

export class Session {
  state: SessionState = 'idle';
  info: ModelInfo | null = null;
  loss: CurvePoint[] = [];
  accuracy: CurvePoint[] = [];
  layers: LayerStats[] = [];
  progress: {
    epoch: number;
    batch: number;
    batches: number;
    epochs: number;
    samplesPerSecond: number;
  } | null = null;
  /** Set when the model came from a checkpoint file. */
  loaded: { metadata: CheckpointMetadata; fileName: string } | null = null;
  error: string | null = null;
  private worker: Worker | null = null;
  private epochs = 0;
  private nextId = 0;
  /** Requests the worker answers by id: predictions and settlings. */
  private readonly requests = new Map<number, Waiter<never>>();
  private checkpointWaiter: Waiter<Uint8Array> | null = null;

  constructor(
    readonly algorithm: Algorithm,
    private readonly changed: (session: Session, message: FromWorker | null) => void,
  ) {}

  get hasModel(): boolean {
    return this.info !== null;
  }

  get busy(): boolean {
    return this.state === 'training' || this.state === 'stopping' || this.state === 'loading';
  }

  get lastAccuracy(): number | null {
    return this.accuracy.at(-1)?.value ?? null;
  }

  /** Starts a fresh run in a fresh worker, forgetting any earlier model. */
  train(settings: TrainSettings, data: TrainingSplits): void {
    this.reset();
    this.state = 'training';
    this.send({ type: 'train', algorithm: this.algorithm, settings, data });
    this.changed(this, null);
  }

  stop(): void {
    if (this.state !== 'training') return;
    this.state = 'stopping';
    this.send({ type: 'stop' });
    this.changed(this, null);
  }

  resume(): void {
    if (this.state !== 'stopped') return;
    this.state = 'training';
    this.send({ type: 'resume' });
    this.changed(this, null);
  }

  /** The model as a safetensors checkpoint, in the CLI's format. */
  checkpoint(): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.checkpointWaiter = { resolve, reject };
      this.send({ type: 'checkpoint' });
    });
  }

  /** Replaces the model with a checkpoint's; it is evaluated on `test` once restored. */
  load(bytes: Uint8Array, fileName: string, metadata: CheckpointMetadata, test: Split): void {
    this.reset();
    this.loaded = { metadata, fileName };
    this.state = 'loading';
    this.send({ type: 'load', bytes, name: fileName, test, testExamples: test.count }, [bytes.buffer]);
    this.changed(this, null);
  }

  predict(pixels: Uint8Array): Promise<Prediction> {
    return this.request((id) => ({ type: 'predict', id, pixels }));
  }

  /** How the model settles on an image over time; only a model whose trainer settles can. */
  settle(pixels: Uint8Array): Promise<Settling> {
    return this.request((id) => ({ type: 'settle', id, pixels }));
  }

  private request<T>(message: (id: number) => ToWorker): Promise<T> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.requests.set(id, { resolve: resolve as (value: never) => void, reject });
      this.send(message(id));
    });
  }

  private answer(id: number, value: unknown): void {
    this.requests.get(id)?.resolve(value as never);
    this.requests.delete(id);
  }

  private reset(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const waiter of this.requests.values()) waiter.reject(new Error('the model was replaced'));
    this.requests.clear();
    Object.assign(this, {
      info: null,
      loss: [],
      accuracy: [],
      layers: [],
      progress: null,
      loaded: null,
      error: null,
    });
  }

  private send(message: ToWorker, transfer: Transferable[] = []): void {
    if (!this.worker) {
      this.worker = new Worker(new URL('./train-worker.ts', import.meta.url), {
        type: 'module',
        name: this.algorithm,
      });
      this.worker.onmessage = (event: MessageEvent<FromWorker>) => this.receive(event.data);
      this.worker.onerror = (event) => this.fail(event.message || 'the training worker failed to start');
    }
    this.worker.postMessage(message, transfer);
  }

  private fail(message: string): void {
    this.error = message;
    // A failed run or load leaves no usable model; a failed request (a prediction, a settling) leaves it be.
    if (this.busy) this.state = 'failed';
    this.checkpointWaiter?.reject(new Error(message));
    this.checkpointWaiter = null;
    for (const waiter of this.requests.values()) waiter.reject(new Error(message));
    this.requests.clear();
    this.changed(this, null);
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'started':
        this.info = message;
        this.epochs = message.epochs;
        break;
      case 'progress': {
        const { epoch, batch, batches, samplesPerSecond } = message;
        this.progress = { epoch, batch, batches, epochs: this.epochs, samplesPerSecond };
        this.loss.push({ seconds: message.seconds, value: message.loss });
        if (message.layers) this.layers = message.layers;
        break;
      }
      case 'evaluation':
        this.accuracy.push({ seconds: message.seconds, value: message.testAccuracy });
        break;
      case 'stopped':
        this.state = message.reason === 'interrupted' ? 'stopped' : 'done';
        break;
      case 'checkpoint':
        this.checkpointWaiter?.resolve(message.bytes);
        this.checkpointWaiter = null;
        break;
      case 'loaded':
        this.info = message;
        this.state = 'loaded';
        this.accuracy = [{ seconds: 0, value: message.testAccuracy }];
        break;
      case 'prediction':
        this.answer(message.id, message);
        break;
      case 'settling':
        this.answer(message.id, message.settling);
        break;
      case 'error':
        this.fail(message.message);
        return;
    }
    this.changed(this, message);
  }
}

export type LabListener = (session: Session, message: FromWorker | null) => void;

export class Lab {
  private readonly sessions = new Map<Algorithm, Session>();
  private readonly listeners = new Set<LabListener>();

  session(algorithm: Algorithm): Session {
    let session = this.sessions.get(algorithm);
    if (!session) {
      session = new Session(algorithm, (s, m) => {
        for (const listener of this.listeners) listener(s, m);
      });
      this.sessions.set(algorithm, session);
    }
    return session;
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  /** Sessions holding a model that can predict. */
  models(): Session[] {
    return this.all().filter((s) => s.hasModel && s.state !== 'failed');
  }

  listen(listener: LabListener): void {
    this.listeners.add(listener);
  }
}
