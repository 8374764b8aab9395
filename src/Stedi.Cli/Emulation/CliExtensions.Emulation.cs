using Spectre.Console.Cli;

namespace Stedi.Cli;

internal static partial class CliExtensions
{
    static partial void ConfigureMore(IConfigurator c)
    {
        c.AddCommand<InvokeCommand>("invoke")
            .WithDescription("Run the ingest or refine handler once with an event file, like `sam local invoke`, on the local lake or against moto/AWS; the refresh work it causes is drained before it returns.")
            .WithExample("invoke", "--event", "events/s3-put-customer.json")
            .WithExample("invoke", "--event", "events/sqs-refresh-accelerometer-trusted.json", "--endpoint", "http://127.0.0.1:5000");
        c.AddCommand<EmulateCommand>("emulate")
            .WithDescription("Emulated deployment: start moto, create what the CDK stack creates, upload the landing files and run the functions behind emulated SQS event source mappings until the queues drain; print the summary read back from S3. --serve keeps it running for the AWS CLI or a producer under test until Ctrl+C or SIGTERM.")
            .WithExample("emulate").WithExample("emulate", "--profile", "rubric", "--summary-json", "emulate.json");
    }
}
