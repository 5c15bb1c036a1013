// Validates Kubernetes objects (a JSON array, argv[2]) against the Kubernetes schemas of the npm
// package kubernetes-models. Core kinds are validated whole; for KServe's custom resources
// (which kubernetes-models does not cover) every embedded core type (containers, volumes,
// tolerations, security contexts, resources, object metadata) is validated against its
// Kubernetes schema and the CRD fields KServe requires are checked here.
// Prints {"ok": bool, "checked": [...], "errors": [...]} and exits 1 when anything is invalid.
const fs = require("fs");
const path = require("path");
const root = process.env.AIRLOCK_PROJECT_ROOT || path.resolve(__dirname, "..", "..");
const load = (name) => require(path.join(root, "node_modules", "kubernetes-models", name));

const { Deployment } = load("apps/v1/Deployment");
const { Service } = load("v1/Service");
const { Secret } = load("v1/Secret");
const { Namespace } = load("v1/Namespace");
const { Container } = load("v1/Container");
const { Volume } = load("v1/Volume");
const { Toleration } = load("v1/Toleration");
const { PodSecurityContext } = load("v1/PodSecurityContext");
const { ResourceRequirements } = load("v1/ResourceRequirements");
const { LocalObjectReference } = load("v1/LocalObjectReference");
const { ObjectMeta } = require(path.join(root, "node_modules", "@kubernetes-models", "apimachinery",
  "apis", "meta", "v1", "ObjectMeta"));

const objects = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const errors = [];
const checked = [];

function check(where, Model, value) {
  try {
    new Model(value).validate();
  } catch (error) {
    errors.push(`${where}: ${error.message}`);
  }
}
function need(where, condition, message) {
  if (!condition) errors.push(`${where}: ${message}`);
}
function eachOf(where, list, Model) {
  if (list === undefined) return;
  need(where, Array.isArray(list), "must be a list");
  (list || []).forEach((item, i) => check(`${where}[${i}]`, Model, item));
}
function nodeSelector(where, value) {
  if (value === undefined) return;
  need(where, value && typeof value === "object" && Object.values(value).every((v) => typeof v === "string"),
    "must map label names to strings");
}

for (const object of objects) {
  const where = `${object.kind}/${object.metadata && object.metadata.name}`;
  checked.push(where);
  const key = `${object.apiVersion} ${object.kind}`;
  switch (key) {
    case "apps/v1 Deployment": check(where, Deployment, object); break;
    case "v1 Service": check(where, Service, object); break;
    case "v1 Secret": check(where, Secret, object); break;
    case "v1 Namespace": check(where, Namespace, object); break;
    case "serving.kserve.io/v1alpha1 ServingRuntime": {
      check(`${where}.metadata`, ObjectMeta, object.metadata);
      const spec = object.spec || {};
      need(where, Array.isArray(spec.supportedModelFormats) && spec.supportedModelFormats.every((f) => typeof f.name === "string"),
        "spec.supportedModelFormats[].name is required");
      need(where, Array.isArray(spec.containers) && spec.containers.length > 0, "spec.containers is required");
      eachOf(`${where}.spec.containers`, spec.containers, Container);
      eachOf(`${where}.spec.volumes`, spec.volumes, Volume);
      eachOf(`${where}.spec.tolerations`, spec.tolerations, Toleration);
      eachOf(`${where}.spec.imagePullSecrets`, spec.imagePullSecrets, LocalObjectReference);
      nodeSelector(`${where}.spec.nodeSelector`, spec.nodeSelector);
      break;
    }
    case "serving.kserve.io/v1beta1 InferenceService": {
      check(`${where}.metadata`, ObjectMeta, object.metadata);
      const predictor = (object.spec || {}).predictor || {};
      const model = predictor.model || {};
      need(where, model.modelFormat && typeof model.modelFormat.name === "string", "spec.predictor.model.modelFormat.name is required");
      need(where, typeof model.storageUri === "string" && model.storageUri.length > 0, "spec.predictor.model.storageUri is required");
      need(where, Number.isInteger(predictor.minReplicas) && Number.isInteger(predictor.maxReplicas), "min/maxReplicas must be integers");
      if (model.resources) check(`${where}.spec.predictor.model.resources`, ResourceRequirements, model.resources);
      if (predictor.securityContext) check(`${where}.spec.predictor.securityContext`, PodSecurityContext, predictor.securityContext);
      eachOf(`${where}.spec.predictor.tolerations`, predictor.tolerations, Toleration);
      eachOf(`${where}.spec.predictor.imagePullSecrets`, predictor.imagePullSecrets, LocalObjectReference);
      nodeSelector(`${where}.spec.predictor.nodeSelector`, predictor.nodeSelector);
      break;
    }
    case "serving.kserve.io/v1alpha1 ClusterStorageContainer": {
      check(`${where}.metadata`, ObjectMeta, object.metadata);
      need(where, object.metadata && object.metadata.namespace === undefined, "is cluster-scoped: no namespace");
      const spec = object.spec || {};
      check(`${where}.spec.container`, Container, spec.container);
      need(where, spec.container && spec.container.name === "storage-initializer", "spec.container.name must be storage-initializer");
      need(where, Array.isArray(spec.supportedUriFormats) && spec.supportedUriFormats.length > 0 &&
        spec.supportedUriFormats.every((f) => (typeof f.prefix === "string") !== (typeof f.regex === "string")),
        "each supportedUriFormats entry has exactly one of prefix or regex");
      for (const f of spec.supportedUriFormats || []) {
        if (f.regex) {
          try { new RegExp(f.regex); } catch (e) { errors.push(`${where}: bad regex ${f.regex}`); }
        }
      }
      need(where, ["initContainer", "localModelDownloadJob", undefined].includes(spec.workloadType), "bad workloadType");
      break;
    }
    default:
      errors.push(`${where}: unexpected ${key}`);
  }
}
console.log(JSON.stringify({ ok: errors.length === 0, checked, errors }));
process.exit(errors.length === 0 ? 0 : 1);
