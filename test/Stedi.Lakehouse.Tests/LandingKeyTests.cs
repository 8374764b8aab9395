using Stedi.Twin;

namespace Stedi.Lakehouse.Tests;

/// <summary>How a file under a local landing folder is named as an S3 key.</summary>
public sealed class LandingKeyTests
{
    [Theory]
    [InlineData("customer/a.json", "customer/landing/a.json")]
    [InlineData("customer/landing/a.json", "customer/landing/a.json")]
    [InlineData("accelerometer/2024/06/a.json", "accelerometer/landing/2024/06/a.json")]
    // A backslash is part of a Linux file name, as of an S3 key: back\slash.json once became back/slash.json and one
    // of the two files below was dropped as "already processed".
    [InlineData("customer/back\\slash.json", "customer/landing/back\\slash.json")]
    [InlineData("customer/back/slash.json", "customer/landing/back/slash.json")]
    [InlineData("gyroscope/a.json", null)]
    [InlineData("a.json", null)]
    public void A_file_under_a_source_folder_is_keyed_under_its_landing_prefix(string relative, string? key) =>
        Assert.Equal(key, LocalPipeline.LandingKeyFor(relative));
}
