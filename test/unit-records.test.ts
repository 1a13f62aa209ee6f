import assert from "node:assert/strict";
import { test } from "node:test";
import { flattenResource, recordJson, type ResourceObject } from "../src/records.js";
import { findStream } from "../src/streams.js";

test("a resource flattens to id, attributes, then relationship ids (the three shapes)", () => {
  const prospect: ResourceObject = {
    type: "prospect",
    id: 9,
    attributes: { createdAt: "2024-08-02T09:56:52.000Z", custom1: null, firstName: "Ada", updatedAt: "2024-08-02T09:56:52.000Z", updaterId: 99 },
    relationships: {
      account: { data: { type: "account", id: 2 } },
      owner: { data: null },
      emailAddresses: { data: [{ type: "emailAddress", id: 5 }, { type: "emailAddress", id: 6 }] },
      mailings: {},
      updater: { data: { type: "user", id: 2 } },
    },
    links: { self: "https://api.outreach.io/api/v2/prospects/9" },
  };
  const record = flattenResource(prospect, findStream("prospects")!.relationships);
  assert.deepEqual(record, {
    id: 9,
    createdAt: "2024-08-02T09:56:52.000Z",
    custom1: null,
    firstName: "Ada",
    updatedAt: "2024-08-02T09:56:52.000Z",
    updaterId: 2, // the relationship wins over the undeclared attribute (outreach-api.md §3.6)
    accountId: 2,
    ownerId: null,
    emailAddressesIds: [5, 6],
  });
  assert.deepEqual(Object.keys(record).slice(0, 2), ["id", "createdAt"]);
});

test("polymorphic to-one relationships keep the type", () => {
  const task: ResourceObject = {
    type: "task",
    id: 1,
    attributes: {},
    relationships: { subject: { data: { type: "opportunity", id: 7 } }, creator: { data: null } },
  };
  assert.deepEqual(flattenResource(task, findStream("tasks")!.relationships), {
    id: 1,
    subjectId: 7,
    subjectType: "opportunity",
    creatorId: null,
    creatorType: null,
  });
});

test("recordJson serializes the same record as flattenResource, clashes and polymorphism included", () => {
  const resources: [string, ResourceObject][] = [
    [
      "prospects",
      {
        type: "prospect",
        id: 9,
        attributes: { firstName: "Zoë ", updaterId: 99, tags: ["a"], custom7: "" },
        relationships: { updater: { data: { type: "user", id: 2 } }, emailAddresses: { data: [{ type: "emailAddress", id: 5 }] }, calls: {} },
      },
    ],
    ["tasks", { type: "task", id: 1, relationships: { subject: { data: { type: "account", id: 3 } }, owner: { data: null } } }],
    ["duties", { type: "duty", id: 4, attributes: {} }],
  ];
  for (const [stream, resource] of resources) {
    const rels = findStream(stream)!.relationships;
    const expected = flattenResource(structuredClone(resource), rels);
    assert.deepEqual(JSON.parse(recordJson(structuredClone(resource), rels)), expected);
  }
});
