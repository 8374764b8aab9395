using Amazon.CDK;
using Stedi.Cdk;

// Environment-agnostic stacks: `cdk synth` needs no credentials; account and region resolve at deploy time.
var app = new App();
StediApp.Build(app, FunctionsCode.FindRepoRoot(Directory.GetCurrentDirectory()));
app.Synth();
