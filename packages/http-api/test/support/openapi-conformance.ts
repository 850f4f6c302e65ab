import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** One answer as a test received it. */
export interface ReceivedAnswer {
  readonly status: number;
  readonly contentType: string | null;
  /** The body as text; empty when there is none. */
  readonly text: string;
}

interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, OperationObject>>;
  readonly components?: Record<string, unknown>;
}

interface OperationObject {
  readonly responses: Record<string, { content?: Record<string, { schema: object }> }>;
}

/**
 * Holds a server's answers to its own OpenAPI document: the document must pass a standard OpenAPI validator
 * (@seriousme/openapi-schema-validator), and each answer must be one the document lists for its path, method and
 * status, with a body its schema admits (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it, formats checked).
 */
export class OpenApiConformance {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  /** Every `method path status` the tests checked, to prove the document's answers were all exercised. */
  readonly checked = new Set<string>();

  private constructor(readonly document: OpenApiDocument) {
    addFormats.default(this.ajv);
  }

  /** Fails unless `document` is a valid OpenAPI document. */
  static async of(document: unknown): Promise<OpenApiConformance> {
    const result = await new Validator().validate(document as Parameters<Validator['validate']>[0]);
    if (!result.valid) throw new Error(`not a valid OpenAPI document: ${JSON.stringify(result.errors, null, 2)}`);
    return new OpenApiConformance(document as OpenApiDocument);
  }

  /**
   * Fails unless the document lists `status` for `method` on `template` (`/v1/volumes/{name}`), with the answer's
   * media type, and the answer's body conforms to its schema. An answer the document gives no content has no body.
   */
  check(template: string, method: string, answer: ReceivedAnswer): void {
    const where = `${method.toUpperCase()} ${template} ${answer.status}`;
    const operation = this.document.paths[template]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the document has no ${method.toUpperCase()} ${template}`);
    const response = operation.responses[String(answer.status)] ?? operation.responses.default;
    if (!response) throw new Error(`the document lists no answer ${where}`);
    this.checked.add(where);
    if (!response.content) {
      if (answer.text !== '') throw new Error(`${where}: the document gives no body, the answer has ${answer.text}`);
      return;
    }
    const mediaType = (answer.contentType ?? '').split(';')[0]?.trim() ?? '';
    const media = response.content[mediaType];
    if (!media) throw new Error(`${where}: the document has no ${JSON.stringify(mediaType)} content`);
    const body = mediaType === 'application/json' ? (JSON.parse(answer.text) as unknown) : answer.text;
    const validate = this.validator(`${where} ${mediaType}`, media.schema);
    if (!validate(body)) {
      throw new Error(`${where}: the body does not conform: ${this.ajv.errorsText(validate.errors)}\n${answer.text}`);
    }
  }

  private validator(key: string, schema: object): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) {
      // The components ride along, so the document's own `#/components/schemas/...` references resolve.
      validate = this.ajv.compile({ ...schema, components: this.document.components });
      this.compiled.set(key, validate);
    }
    return validate;
  }
}
