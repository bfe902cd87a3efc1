/**
 * The local API server hands the handler what an API Gateway HTTP API hands Lambda (payload
 * format 2.0): a URL-decoded rawPath cut at a decoded `?`, the raw query string, decoded
 * parameters. Shapes from https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * and the captures in test/fixtures/aws/.
 */
import { readFileSync } from "node:fs";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { toHttpApiEvent } from "../../local/api-server.js";

const fixture = JSON.parse(readFileSync(new URL("../fixtures/aws/apigateway-http-api-v2-request.json", import.meta.url), "utf8")) as {
  request: string;
  event: APIGatewayProxyEventV2;
};

describe("the local HTTP API event", () => {
  it("matches the documented payload for the same request", () => {
    const url = new URL(fixture.request, "https://r3pmxmplak.execute-api.us-east-2.amazonaws.com");
    const event = toHttpApiEvent("GET", url, fixture.event.headers as Record<string, string>);
    expect({ rawPath: event.rawPath, rawQueryString: event.rawQueryString, queryStringParameters: event.queryStringParameters }).toEqual({
      rawPath: fixture.event.rawPath,
      rawQueryString: fixture.event.rawQueryString,
      queryStringParameters: fixture.event.queryStringParameters,
    });
    expect(event.requestContext.http.path).toBe(fixture.event.requestContext.http.path);
  });

  it("decodes the path once, as API Gateway does, and a decoded ? ends it", () => {
    const event = toHttpApiEvent("GET", new URL("http://127.0.0.1/buckets/b/objects/percent%2F100%25%20x%3Fy=1?limit=2"), {});
    expect(event.rawPath).toBe("/buckets/b/objects/percent/100% x");
    expect(event.rawQueryString).toBe("limit=2");
  });

  it("keeps the query string raw and decodes parameters, joining repeats with commas", () => {
    const event = toHttpApiEvent("GET", new URL("http://127.0.0.1/buckets/b/object?key=a%2Bb%20c%3F&key=d"), {});
    expect(event.rawQueryString).toBe("key=a%2Bb%20c%3F&key=d");
    expect(event.queryStringParameters).toEqual({ key: "a+b c?,d" });
  });
});
